"""format.tabwriter: Go's text/tabwriter as docker/cli sets it up
(minwidth 10, padding 3, spaces), and echo_objects' table/json/template
paths over it."""

import pytest

from rs_docker.cli import format as fmt
from rs_docker.errors import UsageError


@pytest.mark.parametrize("text,expected", [
    ("a\tb", "a         b"),
    ("A\tB\nlonger-than-ten\tx", "A                 B\nlonger-than-ten   x"),
    # a line without the column ends its block: the next block has its own widths
    ("a\tb\nxxxxxxxxxxxxxxx\nc\td", "a         b\nxxxxxxxxxxxxxxx\nc         d"),
    # a terminated empty cell is padded; the last cell never is
    ("a\t\tc", "a                   c"),
    ("only", "only"),
    ("x\ty\tz\nx\ty", "x         y         z\nx         y"),
    ("é\tb", "é         b"),
])
def test_tabwriter_as_go(text, expected):
    assert fmt.tabwriter(text) == expected


def test_default_ps_table_without_rows_is_the_header(capsys):
    fmt.echo_objects(None, [])
    assert capsys.readouterr().out == \
        "CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n"


def test_table_template_with_labels_json_and_errors(capsys):
    rows = [{"ID": "abc", "Names": "web"}, {"ID": "defdefdefdefdef", "Names": "db"}]
    fmt.echo_objects('table {{.ID}}\\t{{.Names}}\\t{{.Label "tier"}}', rows,
                     labels=[{"tier": "front"}, {}])
    assert capsys.readouterr().out.splitlines() == [
        "CONTAINER ID      NAMES     ",   # the header stops at .Label (docker/cli)
        "abc               web       front",
        "defdefdefdefdef   db        "]
    fmt.echo_objects("json", rows[:1])
    assert capsys.readouterr().out == '{"ID":"abc","Names":"web"}\n'
    fmt.echo_objects("{{.Names | upper}}", rows)
    assert capsys.readouterr().out == "WEB\nDB\n"
    with pytest.raises(UsageError) as e:
        fmt.echo_objects("{{.Nope}}", rows)
    assert str(e.value) == ('template parsing error: template: :1:2: executing "" at <.Nope>: '
                            "can't evaluate field Nope in type *formatter.ContainerContext")
