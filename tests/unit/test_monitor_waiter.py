"""The monitor's lean waiting program: its log encoder gives the bytes
json.dumps gave, and the cgroup it reopens from JSON (it holds no objects
across execve) is the one the runtime created."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rs_docker.container import exits, jsonlog
from tests.unit.test_cgroups_backends import Tree


def reference(text: str, stream: str, ns: int) -> bytes:
    """The former encoder, on the json module."""
    entry = json.dumps({"log": text, "stream": stream, "time": jsonlog.rfc3339_nano(ns)},
                       separators=(",", ":"), ensure_ascii=False)
    for char, esc in {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                      "\u2029": "\\u2029"}.items():
        entry = entry.replace(char, esc)
    return (entry + "\n").encode()


@pytest.mark.parametrize("text", ["hi\n", "", 'quote " back \\ slash', "tab\there\r\n",
                                  "\x00\x01\x1f ctl", "h\u00e9llo w\u00f6rld \U0001f600",
                                  "<a href='x'>&amp;</a>", "\u2028\u2029", "\ufffd bad"])
def test_encoding_is_what_json_dumps_gave(text):
    for ns in (0, 1_700_000_000_123_456_789, 1_700_000_000_000_000_000):
        assert jsonlog.encode(text, "stderr", ns) == reference(text, "stderr", ns)


def test_invalid_utf8_is_replaced_and_lines_are_cut_at_16k(tmp_path):
    path = tmp_path / "log"
    with open(path, "wb") as f:
        w = jsonlog.LogWriter(f.fileno(), clock=lambda: 0)
        w.feed("stdout", b"a\xffb\n" + b"x" * (jsonlog.MAX_LINE + 1))
        w.flush("stdout")
    lines = [json.loads(x) for x in path.read_bytes().splitlines()]
    assert [x["log"] for x in lines] == ["a\ufffdb\n", "x" * jsonlog.MAX_LINE, "x"]


@pytest.fixture(params=["v1", "v2", "hybrid"])
def tree(request, tmp_path):
    return Tree(request.param, tmp_path)


def test_reopened_cgroup_has_the_same_directories(tree):
    cg = tree.create()
    info = json.loads(json.dumps(exits.describe_cgroup(cg)))
    again = exits.reopen_cgroup(info)
    assert again.version == cg.version
    assert again.paths == cg.paths


def test_reopened_cgroup_reads_oom_and_removes_every_directory(tree):
    cg = tree.create()
    if tree.mode == "v2":
        (Path(cg.paths[""]) / "memory.events").write_text("oom 1\noom_kill 1\n")
    else:
        (Path(cg.paths["memory"]) / "memory.oom_control").write_text("oom_kill 1\n")
    again = exits.reopen_cgroup(exits.describe_cgroup(cg))
    assert again.oom_killed() is True
    for path in set(map(Path, cg.paths.values())):  # a real cgroupfs has no files to unlink
        for f in path.iterdir():
            f.unlink()
    again.destroy()
    assert not any(p.exists() for p in map(Path, cg.paths.values()))


def test_no_cgroup_round_trips_to_none():
    assert exits.reopen_cgroup(exits.describe_cgroup(None)) is None


def test_waiter_program_imports_little():
    """The program the monitor execs loads no runtime, record code, json,
    re, dataclasses or pathlib until the container has exited."""
    import ast
    import subprocess
    import sys

    from rs_docker.container import boot

    code = boot.boot_code("rs_docker.container.waiter").replace("main(sys.argv[1:])", "print(sorted(sys.modules))")
    out = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True,
                         check=True).stdout
    loaded = set(ast.literal_eval(out))
    assert "rs_docker.container.waiter" in loaded
    heavy = {"json", "re", "dataclasses", "pathlib", "ctypes", "rs_docker.runtime.process.start",
             "rs_docker.container.state", "rs_docker.container.logs", "socket"}
    assert not loaded & heavy
