"""`rename`: a container's name changed through the store's name rules
(names/<name> -> id, reserved under the store-wide names lock, so two
renames or a run --name cannot both win), then its record; the old name
is freed last. Docker's errors (moby daemon/rename.go)."""

from __future__ import annotations

from rs_docker.container import events, state
from rs_docker.context import Context
from rs_docker.errors import Conflict, UsageError


class RenameRefused(Conflict):
    """A rename Docker refuses (exit 1)."""

    exit_code = 1


def rename(ctx: Context, old: str, new: str) -> None:
    if not old or not new:
        raise UsageError("Neither old nor new names may be empty")
    cid = state.resolve(ctx, old)
    new = state.check_name(new)
    current = str(state.read(ctx, cid).get("Name", "")).removeprefix("/")
    if new == current:
        raise RenameRefused("Renaming a container with the same name as its current name")
    state.reserve_name(ctx, new, cid)
    try:
        def change(record: dict) -> None:
            record["Name"] = "/" + new
        record = state.update(ctx, cid, change)
    except BaseException:
        state.release_name(ctx, new, cid)
        raise
    state.release_name(ctx, current, cid)
    events.emit(ctx, "container", "rename", cid,
                events.container_attributes(record, oldName="/" + current))
