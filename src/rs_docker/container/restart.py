"""Restart policies (`--restart`), carried out by a detached container's
monitor as dockerd's restart manager does (moby restartmanager/
restartmanager.go, daemon/monitor.go):

- `no` never restarts; `always` restarts after any exit; `unless-stopped`
  likewise unless the user stopped it; `on-failure[:N]` after a non-zero
  exit, at most N times (0: no limit).
- A container the user stopped or killed (`stop`, `kill`, `rm -f`, marked
  in the record as RsDocker.ManuallyStopped) is not restarted by its
  monitor, whatever the policy; `start` clears the mark.
- Back-off: 100 ms before the first restart, doubled before each next one
  up to a minute, back to 100 ms once the container ran 10 s.
- While it waits, the record says Status "restarting" (Running and
  Restarting true, Pid 0), with the exit's ExitCode and FinishedAt, and
  RestartCount counted up.

No daemon runs at boot: `system restore` (at_boot) brings back what
dockerd would restart when it starts: `always` containers, even stopped
ones, `unless-stopped` ones the user did not stop, `on-failure` ones whose
last exit was a failure with retries left.

This module is imported only when a policy is in use (a `--restart` flag,
an exit to decide on): never on a plain run's path.
"""

from __future__ import annotations

import os
import time

NO, ALWAYS, ON_FAILURE, UNLESS_STOPPED = "no", "always", "on-failure", "unless-stopped"
POLICIES = (NO, ALWAYS, ON_FAILURE, UNLESS_STOPPED)
FIRST_BACKOFF_MS = 100
MAX_BACKOFF_MS = 60_000
RESET_AFTER_S = 10
RESTARTING = "restarting"
# How often a monitor waiting to restart looks whether the user stopped
# or removed the container meanwhile.
RECHECK_S = 0.1


def parse(text: str) -> dict:
    """`--restart` as HostConfig.RestartPolicy ({"Name", "MaximumRetryCount"}),
    with Docker's errors (runconfig/opts ParseRestartPolicy, then the
    daemon's ValidateRestartPolicy). Raises UsageError."""
    from rs_docker.errors import UsageError

    name, colon, count_text = text.partition(":")
    if colon and not name:
        raise UsageError("invalid restart policy format: no policy provided before colon")
    count = 0
    if count_text:
        try:
            count = int(count_text)
        except ValueError:
            raise UsageError("invalid restart policy format: maximum retry count must be "
                             "an integer") from None
    name = name or NO
    if name in (NO, ALWAYS, UNLESS_STOPPED):
        if count:
            message = "invalid restart policy: maximum retry count can only be used with " \
                      "'on-failure'"
            raise UsageError(message + (" and cannot be negative" if count < 0 else ""))
    elif name == ON_FAILURE:
        if count < 0:
            raise UsageError("invalid restart policy: maximum retry count cannot be negative")
    else:
        raise UsageError(f"invalid restart policy: unknown policy '{name}'; use one of "
                         f"'{NO}', '{ALWAYS}', '{ON_FAILURE}', or '{UNLESS_STOPPED}'")
    return {"Name": name, "MaximumRetryCount": count}


def policy(record: dict) -> dict:
    return (record.get("HostConfig") or {}).get("RestartPolicy") or {"Name": NO,
                                                                       "MaximumRetryCount": 0}


def manually_stopped(record: dict) -> bool:
    return bool((record.get("RsDocker") or {}).get("ManuallyStopped"))


def should_restart(record: dict, exit_code: int, stopped: bool) -> bool:
    """The restart manager's decision after an exit (`stopped`: by the user)."""
    p = policy(record)
    name = p.get("Name") or NO
    if name == NO or stopped:
        return False
    if name in (ALWAYS, UNLESS_STOPPED):
        return True
    limit = int(p.get("MaximumRetryCount") or 0)
    count = int(record.get("RestartCount") or 0)
    return name == ON_FAILURE and exit_code != 0 and (limit == 0 or count < limit)


def next_backoff(previous_ms: int, ran_s: float) -> int:
    """The wait before the next restart: 100 ms, doubled each time up to a
    minute, back to 100 ms after a run of 10 s or more."""
    if ran_s >= RESET_AFTER_S or previous_ms <= 0:
        return FIRST_BACKOFF_MS
    return min(previous_ms * 2, MAX_BACKOFF_MS)


def at_boot(record: dict) -> bool:
    """Whether `system restore` starts this (not running) container: what
    dockerd's restore does for a container with a policy when it starts."""
    name = policy(record).get("Name") or NO
    if name == ALWAYS:
        return True
    if name == UNLESS_STOPPED:
        return not manually_stopped(record)
    code = int((record.get("State") or {}).get("ExitCode") or 0)
    return name == ON_FAILURE and should_restart(record, code, manually_stopped(record))


def on_exit(record: dict, code: int, ran_s: float, previous_ms: int) -> int | None:
    """Called by the monitor with the record, under its lock, once the exit
    is in it: the back-off in ms when the container is to be restarted
    (the record then says "restarting"), else None."""
    if not should_restart(record, code, manually_stopped(record)):
        return None
    record["State"].update(Status=RESTARTING, Running=True, Restarting=True, Pid=0)
    record["RestartCount"] = int(record.get("RestartCount") or 0) + 1
    return next_backoff(previous_ms, ran_s)


def still_wanted(record: dict) -> bool:
    """After the back-off: the container is to start again (the user has not
    stopped it meanwhile)."""
    st = record.get("State") or {}
    return st.get("Status") == RESTARTING and not manually_stopped(record)


def wait_backoff(root: str, container_id: str, backoff_ms: int) -> bool:
    """Sleep the back-off, looking now and then whether the container was
    stopped or removed meanwhile; whether to start it again."""
    from rs_docker.container import state
    from rs_docker.context import Context
    from rs_docker.errors import RsDockerError

    ctx = Context.from_env(root=root)
    deadline = time.monotonic() + backoff_ms / 1000
    while True:
        try:
            if not still_wanted(state.read(ctx, container_id)):
                return False
        except (OSError, RsDockerError):
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            return True
        time.sleep(min(left, RECHECK_S))


def give_up(root: str, container_id: str) -> None:
    """The restart was cancelled (`stop` during the back-off): the record
    says exited again."""
    from rs_docker.container import state
    from rs_docker.context import Context
    from rs_docker.errors import RsDockerError

    def change(record: dict) -> None:
        st = record.setdefault("State", {})
        if st.get("Status") == RESTARTING:
            st.update(Status=state.EXITED, Running=False, Restarting=False, Pid=0)

    ctx = Context.from_env(root=root)
    try:
        state.update(ctx, container_id, change)
    except (OSError, RsDockerError):
        return  # removed meanwhile
    from rs_docker.container import exits

    exits._network_down(ctx, container_id, state)  # kept up across the back-off


def relaunch(root: str, container_id: str, backoff_ms: int) -> None:
    """Become the container's monitor again (monitor.py, without a launcher
    to report to): it starts the container and waits for it."""
    import sys

    from rs_docker.container import boot

    argv = boot.python_argv("rs_docker.container.monitor",
                            [root, container_id, "-1", str(backoff_ms)])
    os.execv(sys.executable, argv)


def restore(ctx) -> tuple[list[str], list[Exception]]:
    """`system restore`: start every container dockerd would restart when
    it starts (at_boot), after a reboot or anything else that ended their
    monitors; a record still saying "running" whose monitor is gone reads
    Exited (137) first (lifecycle.reconcile). The names of the containers
    started, and the errors met (one failing start does not stop the rest)."""
    from rs_docker.container import lifecycle, state
    from rs_docker.errors import ContainerNotFound, RsDockerError, StoreError

    started, errors = [], []
    for cid in state.list_ids(ctx):
        try:
            record = lifecycle.refresh(ctx, cid)
        except (ContainerNotFound, StoreError):
            continue  # removed while we listed, or being created
        st = record.get("State") or {}
        if st.get("Status") in (state.RUNNING, RESTARTING) or not at_boot(record):
            continue
        try:
            lifecycle.start(ctx, cid)
        except RsDockerError as e:
            errors.append(e)
            continue
        started.append(str(record.get("Name") or cid).removeprefix("/"))
    return started, errors
