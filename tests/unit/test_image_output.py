"""How image commands print: sizes, ages, Go templates, progress lines."""

import io
from datetime import UTC, datetime

import pytest

from rs_docker.cli import humanize, templates
from rs_docker.cli.progress import PlainProgress, RichProgress
from rs_docker.errors import UsageError
from rs_docker.image.pull import Progress


@pytest.mark.parametrize("n, text", [
    (0, "0B"), (999, "999B"), (1234, "1.23kB"), (4_264_000, "4.26MB"), (77_800_000, "77.8MB"),
    (1_000_000_000, "1GB"),
])
def test_sizes_like_docker(n, text):
    assert humanize.size(n) == text


@pytest.mark.parametrize("seconds, text", [
    (0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"), (60, "About a minute"),
    (600, "10 minutes"), (3600, "About an hour"), (5 * 3600, "5 hours"),
    (3 * 86400, "3 days"), (20 * 86400, "2 weeks"), (90 * 86400, "3 months"),
    (3 * 365 * 86400, "3 years"),
])
def test_durations_like_go_units(seconds, text):
    assert humanize.duration(seconds) == text


def test_since_and_go_time():
    now = datetime(2024, 1, 3, tzinfo=UTC)
    assert humanize.since("2024-01-01T00:00:00.123456789Z", now) == "2 days ago"
    assert humanize.since(None) == "N/A"
    assert humanize.go_time("2024-01-01T01:02:03+01:00") == "2024-01-01 00:02:03 +0000 UTC"


def test_templates():
    obj = {"Id": "sha256:x", "Config": {"Cmd": ["sh", "-c"], "Env": None}, "Tag": "<none>"}
    assert templates.render("{{.Id}}", obj) == "sha256:x"
    assert templates.render("{{json .Config.Cmd}}", obj) == '["sh","-c"]'
    assert templates.render("{{.Config.Cmd}} {{.Config.Env}}", obj) == "[sh -c] <nil>"
    # docker/cli's json function turns HTML escaping off
    assert templates.render("{{json .Tag}}", obj) == '"<none>"'
    assert templates.render("{{.Nope}}", obj) == "<no value>"
    with pytest.raises(UsageError):
        templates.render("{{.Nope}}", obj, missingkey="error")
    with pytest.raises(UsageError):
        templates.render("{{range .Config}}", obj)


def test_plain_progress_prints_status_changes_only():
    out = io.StringIO()
    p = PlainProgress(out)
    for e in [Progress("latest", "Pulling from busybox"), Progress("abc", "Pulling fs layer"),
              Progress("abc", "Downloading", 1, 10), Progress("abc", "Downloading", 5, 10),
              Progress("abc", "Pull complete", 10, 10)]:
        p(e)
    assert out.getvalue().splitlines() == ["latest: Pulling from busybox",
                                           "abc: Pulling fs layer", "abc: Pull complete"]


def test_rich_progress_renders_a_row_per_layer():
    out = io.StringIO()
    p = RichProgress(out)
    p(Progress("latest", "Pulling from busybox"))
    p(Progress("abc", "Downloading", 5, 10))
    p(Progress("abc", "Pull complete", 10, 10))
    p.close()
    text = out.getvalue()
    assert "latest: Pulling from busybox" in text and "abc: Pull complete" in text
