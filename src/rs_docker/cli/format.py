"""Docker's way of printing containers: the `ps` columns and fields
(docker/cli cli/command/formatter/container.go), tables aligned like Go's
tabwriter as the docker CLI sets it up (minwidth 10, padding 3), and
`--format` (json, table, Go-template subset via cli.templates)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from rs_docker.cli import humanize, templates

NEVER = "0001-01-01T00:00:00Z"
MIN_WIDTH, PADDING = 10, 3
COMMAND_WIDTH = 20   # docker ps truncates COMMAND to 20 cells (stringutils.Ellipsis)

PS_COLUMNS = (("ID", "CONTAINER ID"), ("Image", "IMAGE"), ("Command", "COMMAND"),
              ("RunningFor", "CREATED"), ("Status", "STATUS"), ("Ports", "PORTS"),
              ("Names", "NAMES"))
HEADERS = {"ID": "CONTAINER ID", "Image": "IMAGE", "Command": "COMMAND",
           "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS",
           "Status": "STATUS", "Size": "SIZE", "Names": "NAMES", "Labels": "LABELS",
           "Mounts": "MOUNTS", "Networks": "NETWORKS", "State": "STATE",
           "LocalVolumes": "LOCAL VOLUMES"}


def ellipsis(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 1] + "…"


def _zero(t: str | None) -> bool:
    return not t or t.startswith("0001-01-01")


def status_text(st: dict, now: datetime | None = None) -> str:
    """moby container/state.go State.String(): "Up 3 seconds",
    "Exited (0) 2 minutes ago", "Created", "Dead"."""
    now = now or datetime.now(UTC)
    if st.get("Status") == "running":
        started = humanize.parse_time(st.get("StartedAt")) or now
        return "Up " + humanize.duration(max((now - started).total_seconds(), 0))
    if st.get("Dead"):
        return "Dead"
    if _zero(st.get("StartedAt")):
        return "Created"
    if _zero(st.get("FinishedAt")):
        return ""
    return f"Exited ({st.get('ExitCode', 0)}) {humanize.since(st.get('FinishedAt'), now)}"


def command_text(record: dict, trunc: bool) -> str:
    # As Docker's daemon (daemon/list.go): arguments holding a space are
    # wrapped in single quotes, no other escaping.
    args = [f"'{a}'" if " " in a else a for a in record.get("Args") or []]
    command = " ".join([record.get("Path", ""), *args]).strip()
    if trunc:
        command = ellipsis(command, COMMAND_WIDTH)
    return json.dumps(command, ensure_ascii=False)  # strconv.Quote for printable text


def ps_fields(record: dict, no_trunc: bool = False, now: datetime | None = None) -> dict:
    """One `docker ps --format json` object."""
    st = record.get("State") or {}
    cid = str(record.get("Id", ""))
    host = record.get("HostConfig") or {}
    return {
        "Command": command_text(record, not no_trunc),
        "CreatedAt": humanize.go_time(record.get("Created")),
        "ID": cid if no_trunc else cid[:12],
        "Image": (record.get("Config") or {}).get("Image") or record.get("Image", ""),
        "Labels": ",".join(f"{k}={v}" for k, v in
                           ((record.get("Config") or {}).get("Labels") or {}).items()),
        "LocalVolumes": "0",
        "Mounts": ",".join(m.get("Source") or m.get("Destination", "")
                           for m in record.get("Mounts") or []),
        "Names": str(record.get("Name", "")).removeprefix("/"),
        "Networks": host.get("NetworkMode") or "",
        "Ports": "",
        "RunningFor": humanize.since(record.get("Created"), now),
        "Size": "0B",
        "State": st.get("Status", ""),
        "Status": status_text(st, now),
    }


def echo_table(columns: list[str], rows: list[list[str]]) -> None:
    """Columns as wide as their widest cell plus 3 (at least 10); the last
    column is not padded (Go's tabwriter leaves an unterminated cell alone)."""
    widths = [max([MIN_WIDTH] + [len(c) + PADDING] + [len(r[i]) + PADDING for r in rows])
              for i, c in enumerate(columns)]
    for line in [columns] + rows:
        cells = [cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=False)]
        click.echo(("".join(cells) + line[-1]).rstrip())


def echo_objects(fmt: str | None, objects: list[dict], columns=PS_COLUMNS) -> None:
    """`--format`: None/"table" (the default columns), "json" (one object per
    line), "table TEMPLATE" (with headers) or a template per object."""
    if not fmt or fmt == "table":
        echo_table([h for _, h in columns], [[o[k] for k, _ in columns] for o in objects])
    elif fmt == "json":
        for o in objects:
            click.echo(templates.go_json(o))
    elif templates.is_table(fmt):
        body = templates.table_body(fmt)
        header = templates.render(body, {k: HEADERS.get(k, k.upper()) for k in
                                         (objects[0] if objects else HEADERS)})
        lines = [templates.render(body, o).split("\t") for o in objects]
        echo_table(header.split("\t"), lines)
    else:
        for o in objects:
            click.echo(templates.render(fmt, o))
