"""Docker's way of printing containers: the `ps` columns and fields
(docker/cli cli/command/formatter/container.go), tables aligned like Go's
tabwriter as the docker CLI sets it up (minwidth 10, padding 3), and
`--format` (json, table, Go templates via cli.templates: cli/gotemplate/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click

from rs_docker.cli import humanize, templates
from rs_docker.models.ports import displayable_ports

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
    if st.get("Status") == "restarting":
        return f"Restarting ({st.get('ExitCode', 0)}) {humanize.since(st.get('FinishedAt'), now)}"
    if st.get("Status") in ("running", "paused"):
        started = humanize.parse_time(st.get("StartedAt")) or now
        up = "Up " + humanize.duration(max((now - started).total_seconds(), 0))
        if st.get("Paused"):
            return up + " (Paused)"
        health = (st.get("Health") or {}).get("Status")
        if health:
            return f"{up} (health: starting)" if health == "starting" else f"{up} ({health})"
        return up
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
        "Ports": displayable_ports((record.get("NetworkSettings") or {}).get("Ports") or {}),
        "RunningFor": humanize.since(record.get("Created"), now),
        "Size": "0B",
        "State": "paused" if st.get("Paused") and st.get("Status") == "running"
        else st.get("Status", ""),
        "Status": status_text(st, now),
    }


def tabwriter(text: str, minwidth: int = MIN_WIDTH, padding: int = PADDING) -> str:
    """Go's text/tabwriter as the docker CLI sets it up (minwidth 10,
    padding 3, spaces, no flags): a cell ends at a tab; each column of a
    block of consecutive lines holding it is as wide as its widest cell
    plus the padding, at least minwidth; a line's last cell (not ended by
    a tab) is written as it is."""
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []
    widths: list[int] = []

    def write(line0: int, line1: int) -> None:
        for line in lines[line0:line1]:
            out.append("".join(cell.ljust(widths[j]) if j < len(widths) else cell
                               for j, cell in enumerate(line)))

    def format_block(line0: int, line1: int) -> None:
        column = len(widths)
        this = line0
        while this < line1:
            if column >= len(lines[this]) - 1:
                this += 1
                continue
            write(line0, this)
            line0 = this
            width = minwidth
            while this < line1 and column < len(lines[this]) - 1:
                width = max(width, len(lines[this][column]) + padding)
                this += 1
            widths.append(width)
            format_block(line0, this)
            widths.pop()
            line0 = this
        write(line0, line1)

    format_block(0, len(lines))
    return "\n".join(out)


def echo_table(columns: list[str], rows: list[list[str]]) -> None:
    """A header and rows of cells, aligned by tabwriter()."""
    click.echo(tabwriter("\n".join("\t".join(line) for line in [columns] + rows)))


def row_struct(obj: dict, go_type: str, labels: dict | None = None):
    """One row as the template sees it: Docker's fields, and the method
    `{{.Label "key"}}` (the value of a label, "" when unset)."""
    from rs_docker.cli.gotemplate.funcs import Func

    labels = labels or {}
    return templates.Struct(obj, go_type,
                            {"Label": Func(lambda key: labels.get(key, ""), ("string",))})


def echo_objects(fmt: str | None, objects: list[dict], columns=PS_COLUMNS, headers=HEADERS,
                 go_type: str = "*formatter.ContainerContext",
                 labels: list[dict] | None = None) -> None:
    """`--format` of a list command as docker/cli's formatter does it:
    None or "table" (the default `columns`), "json" (`{{json .}}`), "table
    TEMPLATE" (a header row from `headers`, the rows aligned by
    tabwriter()) or a template per object. `labels`, one dict per object,
    answers `{{.Label "k"}}`."""
    if not fmt or fmt == "table":
        fmt = "table " + "\t".join("{{." + key + "}}" for key, _ in columns)
    elif fmt == "json":
        fmt = "{{json .}}"
    template = templates.compile(templates.preformat(fmt))
    body = []
    for i, o in enumerate(objects):
        row = row_struct(o, go_type, labels[i] if labels else None)
        body.append(templates.execute(template, row) + "\n")
    if not templates.is_table(fmt):
        click.echo("".join(body), nl=False)
        return
    header_template = templates.compile(templates.preformat(fmt), header=True)
    header = dict(headers)
    for key in (objects[0] if objects else headers):
        header.setdefault(key, key.upper())
    try:
        head = header_template.execute(header)
    except templates.TemplateError as e:  # docker/cli ignores the header's error
        head = getattr(e, "partial", "")
    click.echo(tabwriter(head + "\n" + "".join(body)), nl=False)
