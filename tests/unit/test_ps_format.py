"""`ps` output as Docker prints it: STATUS, COMMAND, columns, --format."""

from datetime import UTC, datetime, timedelta

import pytest

from rs_docker.cli import format as fmt
from rs_docker.container import ps

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


def iso(delta: timedelta) -> str:
    return (NOW - delta).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"


@pytest.mark.parametrize("state,text", [
    ({"Status": "running", "StartedAt": iso(timedelta(seconds=3))}, "Up 3 seconds"),
    ({"Status": "running", "StartedAt": iso(timedelta(0))}, "Up Less than a second"),
    ({"Status": "running", "StartedAt": iso(timedelta(hours=2))}, "Up 2 hours"),
    ({"Status": "exited", "ExitCode": 0, "StartedAt": iso(timedelta(minutes=3)),
      "FinishedAt": iso(timedelta(minutes=2))}, "Exited (0) 2 minutes ago"),
    ({"Status": "exited", "ExitCode": 137, "StartedAt": iso(timedelta(seconds=9)),
      "FinishedAt": iso(timedelta(seconds=1))}, "Exited (137) 1 second ago"),
    ({"Status": "created", "StartedAt": "0001-01-01T00:00:00Z"}, "Created"),
    ({"Status": "created", "ExitCode": 127, "StartedAt": "0001-01-01T00:00:00Z",
      "FinishedAt": "0001-01-01T00:00:00Z"}, "Created"),
])
def test_status_text(state, text):
    assert fmt.status_text(state, NOW) == text


def test_command_is_quoted_and_truncated_to_20_cells():
    rec = {"Path": "sh", "Args": ["-c", "while true; do sleep 1; done"]}
    # Docker joins Path and Args with spaces, single-quoting args that hold one
    assert fmt.command_text(rec, trunc=True) == '"sh -c \'while true; …"'
    assert fmt.command_text(rec, trunc=False) == '"sh -c \'while true; do sleep 1; done\'"'
    assert fmt.command_text({"Path": "sleep", "Args": ["5"]}, trunc=True) == '"sleep 5"'


def record(**kw) -> dict:
    base = {"Id": "ab" * 32, "Name": "/web", "Created": iso(timedelta(seconds=5)),
            "Path": "sleep", "Args": ["100"], "Image": "sha256:" + "cd" * 32,
            "Config": {"Image": "busybox"}, "HostConfig": {"NetworkMode": "none"},
            "State": {"Status": "running", "StartedAt": iso(timedelta(seconds=4))}}
    base.update(kw)
    return base


def test_ps_fields_are_dockers_json_keys():
    f = fmt.ps_fields(record(), now=NOW)
    assert set(f) == {"Command", "CreatedAt", "ID", "Image", "Labels", "LocalVolumes",
                      "Mounts", "Names", "Networks", "Ports", "RunningFor", "Size", "State",
                      "Status"}
    assert f["ID"] == "abababababab" and f["Names"] == "web" and f["Image"] == "busybox"
    assert f["RunningFor"] == "5 seconds ago" and f["Status"] == "Up 4 seconds"
    assert fmt.ps_fields(record(), no_trunc=True, now=NOW)["ID"] == "ab" * 32


def test_table_is_aligned_like_dockers_tabwriter(capsys):
    fmt.echo_table(["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "PORTS", "NAMES"],
                   [])
    assert capsys.readouterr().out == \
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"
    fmt.echo_table(["A", "B"], [["longer-than-ten", "x"]])
    assert capsys.readouterr().out == "A                 B\nlonger-than-ten   x\n"


def test_format_json_template_and_table(capsys):
    objs = [fmt.ps_fields(record(), now=NOW)]
    fmt.echo_objects("{{.ID}}\t{{.Names}}", objs)
    assert capsys.readouterr().out == "abababababab\tweb\n"
    fmt.echo_objects("table {{.ID}}\t{{.Status}}", objs)
    assert capsys.readouterr().out.splitlines() == ["CONTAINER ID   STATUS",
                                                     "abababababab   Up 4 seconds"]
    fmt.echo_objects("json", objs)
    assert capsys.readouterr().out.startswith('{"Command":"\\"sleep 100\\""')


@pytest.mark.parametrize("filters,expected", [
    (["status=running"], True), (["status=exited"], False),
    (["name=we"], True), (["name=^web$"], True), (["name=^eb"], False),
    (["id=abab"], True), (["id=cd"], False),
    (["status=exited", "status=running"], True),         # same key: OR
    (["status=running", "name=nope"], False),            # different keys: AND
    (["ancestor=busybox"], True), (["ancestor=busybox:latest"], True),
    (["ancestor=sha256:cdcd"], True), (["ancestor=alpine"], False),
])
def test_filters(filters, expected):
    assert ps.matches(record(), ps.parse_filters(filters)) is expected


@pytest.mark.parametrize("bad", ["status=sleepy", "color=red", "noequals", "name=("])
def test_bad_filters(bad):
    from rs_docker.errors import UsageError

    with pytest.raises(UsageError):
        ps.parse_filters([bad])
