"""Log drivers and rotation (--log-driver, --log-opt), and `logs -f`
following a container across its restarts."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.fixtures.cli import busybox_store, ok, run_d, wait_for

pytestmark = pytest.mark.root


rs = busybox_store("logdrivers")


def test_rotation_keeps_max_file_files_of_max_size(rs, busybox):
    cid = run_d(rs, "--log-opt", "max-size=2k", "--log-opt", "max-file=3", busybox, "sh", "-c",
                "i=0; while [ $i -lt 400 ]; do echo line-$i; i=$((i+1)); done")
    assert ok(rs("wait", cid)) == "0\n"
    doc = json.loads(ok(rs("inspect", cid)))[0]
    assert doc["HostConfig"]["LogConfig"] == {"Type": "json-file",
                                              "Config": {"max-size": "2k", "max-file": "3"}}
    d = rs.root / "containers" / cid
    logs = sorted(p.name for p in d.iterdir() if "-json.log" in p.name)
    assert logs == [f"{cid}-json.log", f"{cid}-json.log.1", f"{cid}-json.log.2"]
    for name in logs:
        assert (d / name).stat().st_size < 2048 + 200
    lines = ok(rs("logs", cid)).splitlines()
    # the newest lines, in order, without a gap; the oldest rotated away
    assert lines[-1] == "line-399"
    first = int(lines[0].removeprefix("line-"))
    assert first > 0 and lines == [f"line-{i}" for i in range(first, 400)]
    ok(rs("rm", cid))


def test_log_driver_none(rs, busybox):
    cid = run_d(rs, "--log-driver", "none", busybox, "echo", "hidden")
    assert ok(rs("wait", cid)) == "0\n"
    p = rs("logs", cid)
    assert (p.returncode, p.stderr.strip()) == (
        1, "rs-docker: configured logging driver does not support reading")
    assert not list((rs.root / "containers" / cid).glob("*-json.log*"))
    assert json.loads(ok(rs("inspect", cid)))[0]["LogPath"] == ""
    ok(rs("rm", cid))


def test_log_driver_local_is_readable(rs, busybox):
    cid = run_d(rs, "--log-driver", "local", busybox, "echo", "kept")
    assert ok(rs("wait", cid)) == "0\n"
    assert ok(rs("logs", cid)) == "kept\n"
    config = json.loads(ok(rs("inspect", cid)))[0]["HostConfig"]["LogConfig"]
    assert config == {"Type": "local", "Config": {"max-size": "20m", "max-file": "5"}}
    ok(rs("rm", cid))


@pytest.mark.parametrize("args, message", [
    (("--log-driver", "syslogx"),
     "failed to create task for container: logger: no log driver named 'syslogx' is "
     "registered"),
    (("--log-opt", "colour=red"), "unknown log opt 'colour' for json-file log driver"),
    (("--log-opt", "max-file=0"), "max-file cannot be less than 1"),
    (("--log-opt", "max-file=2"), "max-file cannot be set without max-size"),
])
def test_bad_log_flags(rs, busybox, args, message):
    p = rs("run", "-d", "--network", "none", *args, busybox, "true")
    assert (p.returncode, p.stderr.strip()) == (125, f"rs-docker: {message}")


def test_logs_follow_across_restarts(rs, busybox):
    cid = run_d(rs, "--restart", "on-failure:2", busybox, "sh", "-c",
                "echo run; sleep 1; exit 1")
    # started during the first run: it follows the back-offs and both restarts
    # to the end, printing every run's line (stopping at the first exit, it
    # would print one)
    follow = subprocess.run([str(rs.script), "--root", str(rs.root), "logs", "-f", cid],
                            capture_output=True, text=True, timeout=60, env=rs.base_env)
    assert wait_for(lambda: json.loads(ok(rs("inspect", cid)))[0]["State"]["Status"]
                    == "exited")
    assert follow.returncode == 0
    assert follow.stdout == "run\n" * 3
    assert ok(rs("logs", cid)) == "run\n" * 3
    ok(rs("rm", cid))


def test_a_foreground_run_is_logged(rs, busybox):
    p = rs("run", "--name", "fg-logged", "--network", "none", busybox, "sh", "-c",
           "echo out; echo err >&2; exit 4")
    assert (p.returncode, p.stdout, p.stderr) == (4, "out\n", "err\n")
    logs = rs("logs", "fg-logged")
    assert (logs.stdout, logs.stderr) == ("out\n", "err\n")
    ok(rs("rm", "fg-logged"))
    # the log driver none: nothing written
    p = rs("run", "--name", "fg-none", "--log-driver", "none", "--network", "none", busybox,
           "echo", "x")
    assert ok(p) == "x\n"
    assert rs("logs", "fg-none").returncode == 1
    ok(rs("rm", "fg-none"))
