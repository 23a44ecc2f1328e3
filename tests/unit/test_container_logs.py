"""json-file logs: Docker's line format, long lines, reading, --since/--tail."""

import json
import os

import pytest

from rs_docker.container import logs
from rs_docker.errors import UsageError
from rs_docker.models.signal_names import parse_signal


def written(tmp_path, feeds):
    path = tmp_path / "c-json.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    ticks = iter(range(1_700_000_000_000_000_000, 1_800_000_000_000_000_000, 1_000_000_000))
    w = logs.LogWriter(fd, clock=lambda: next(ticks))
    for stream, data in feeds:
        if data is None:
            w.flush(stream)
        else:
            w.feed(stream, data)
    os.close(fd)
    return path


def test_lines_split_per_stream_in_dockers_format(tmp_path):
    path = written(tmp_path, [("stdout", b"a\nb"), ("stderr", b"e<&>\n"), ("stdout", b"c\n"),
                              ("stdout", b"tail"), ("stdout", None)])
    lines = path.read_text().splitlines()
    assert lines[0] == '{"log":"a\\n","stream":"stdout","time":"2023-11-14T22:13:20Z"}'
    assert '"log":"e\\u003c\\u0026\\u003e\\n","stream":"stderr"' in lines[1]
    assert [json.loads(x)["log"] for x in lines] == ["a\n", "e<&>\n", "bc\n", "tail"]


def test_long_lines_are_cut_at_16k_and_bad_utf8_replaced(tmp_path):
    path = written(tmp_path, [("stdout", b"x" * 40000 + b"\n\xff\n")])
    texts = [json.loads(x)["log"] for x in path.read_text().splitlines()]
    assert [len(t) for t in texts] == [16384, 16384, 40000 - 32768 + 1, 2]
    assert texts[-1] == "\ufffd\n"


def test_read_select_tail_since(tmp_path):
    path = written(tmp_path, [("stdout", b"1\n2\n3\n4\n")])
    with open(path, "ab") as f:
        f.write(b'{"log":"cut sh')  # a crash mid-line: not returned
    entries, offset = logs.read_all(path)
    assert [e.text for e in entries] == ["1\n", "2\n", "3\n", "4\n"]
    assert offset == len(path.read_bytes()) - len(b'{"log":"cut sh')
    assert [e.text for e in logs.select(entries, tail=2)] == ["3\n", "4\n"]
    assert logs.select(entries, tail=0) == []
    since = logs.parse_since("2023-11-14T22:13:22Z")
    assert [e.text for e in logs.select(entries, since=since)] == ["3\n", "4\n"]
    until = logs.parse_since("1700000001.5")
    assert [e.text for e in logs.select(entries, until=until)] == ["1\n", "2\n"]


def test_follow_reads_until_not_running(tmp_path):
    path = written(tmp_path, [("stdout", b"old\n")])
    _, offset = logs.read_all(path)
    states = iter([True, False])
    with open(path, "ab") as f:
        f.write(logs.encode("new\n", "stderr", 0))
    got = list(logs.follow(path, offset, lambda: next(states), interval=0))
    assert [(e.stream, e.text) for e in got] == [("stderr", "new\n")]


@pytest.mark.parametrize("text,seconds", [("10m", 600), ("1h30m", 5400), ("1.5s", 1.5),
                                          ("250ms", 0.25)])
def test_go_durations(text, seconds):
    assert logs.parse_go_duration(text) == pytest.approx(seconds)
    assert logs.parse_since(text, now=10_000) == pytest.approx(10_000 - seconds)


def test_bad_since():
    with pytest.raises(UsageError):
        logs.parse_since("yesterday")


@pytest.mark.parametrize("text,number", [("SIGTERM", 15), ("term", 15), ("KILL", 9), ("9", 9),
                                         ("SIGUSR1", 10), ("RTMIN+1", 35)])
def test_signal_names(text, number):
    assert parse_signal(text) == number


@pytest.mark.parametrize("text", ["SIGNOPE", "0", "99", "", "SIG_DFL"])
def test_bad_signal_names(text):
    with pytest.raises(UsageError):
        parse_signal(text)
