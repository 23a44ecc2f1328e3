"""`rs-docker events`: the event log the commands append to, read back
with --since/--until, filtered, formatted, and followed as it grows."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from tests.fixtures.cli import ok, wait_for

pytestmark = pytest.mark.root


def _events(rsd, *args: str) -> list[dict]:
    out = ok(rsd("events", "--since", "0", "--until", str(time.time() + 1),
                 "--format", "{{json .}}", *args))
    return [json.loads(line) for line in out.splitlines()]


def test_a_foreground_run_logs_create_start_die_destroy(rsd, busybox):
    rsd("pull", busybox, check=True)
    assert rsd("run", "--network", "none", "--rm", "--name", "ev1", busybox, "sh", "-c", "exit 3").returncode == 3
    got = _events(rsd, "--filter", "type=container")
    assert [e["Action"] for e in got] == ["create", "start", "die", "destroy"]
    die = got[2]
    assert die["Actor"]["Attributes"]["exitCode"] == "3"
    assert die["Actor"]["Attributes"]["name"] == "ev1"
    assert die["Actor"]["Attributes"]["image"] == busybox
    assert die["Type"] == "container" and die["status"] == "die" and die["from"] == busybox
    assert die["id"] == die["Actor"]["ID"] and len(die["id"]) == 64
    assert die["scope"] == "local" and die["time"] == die["timeNano"] // 10**9


def test_the_default_line_is_dockers(rsd, busybox):
    rsd("run", "--network", "none", "--name", "ev2", busybox, "true", check=True)
    out = ok(rsd("events", "--since", "0", "--until", str(time.time() + 1),
                 "--filter", "event=start"))
    [line] = out.splitlines()
    stamp, kind, action, cid, attrs = line.split(" ", 4)
    assert stamp.endswith("Z") and len(stamp.split(".")[1]) == 10  # 9 digits and Z (TZ=UTC)
    assert (kind, action, len(cid)) == ("container", "start", 64)
    assert attrs == f"(image={busybox}, name=ev2)"


def test_filters_combine_as_dockers(rsd, busybox):
    rsd("run", "--network", "none", "--name", "fa", busybox, "true", check=True)
    rsd("run", "--network", "none", "--name", "fb", busybox, "false")
    both = _events(rsd, "--filter", "container=fa", "--filter", "container=fb",
                   "--filter", "event=die")
    assert sorted(e["Actor"]["Attributes"]["name"] for e in both) == ["fa", "fb"]
    only = _events(rsd, "--filter", "container=fb", "--filter", "event=die")
    assert [e["Actor"]["Attributes"]["exitCode"] for e in only] == ["1"]
    assert _events(rsd, "--filter", "image=nosuch") == []


def test_image_events(rsd, busybox):
    rsd("pull", busybox, check=True)
    rsd("tag", busybox, "mine:1", check=True)
    rsd("rmi", "mine:1", check=True)
    got = _events(rsd, "--filter", "type=image")
    assert [e["Action"] for e in got] == ["pull", "tag", "untag"]
    assert got[0]["Actor"]["ID"] == busybox
    assert got[1]["Actor"]["ID"].startswith("sha256:")
    assert got[1]["Actor"]["Attributes"]["name"] == "mine:1"
    assert _events(rsd, "--filter", "image=mine") == got[1:]


def test_until_in_the_past_prints_and_exits(rsd, busybox):
    rsd("run", "--network", "none", "--rm", busybox, "true", check=True)
    proc = rsd("events", "--since", "0", "--until", "0.5", timeout=20)
    assert proc.returncode == 0 and proc.stdout == ""


def test_since_skips_older_events(rsd, busybox):
    rsd("run", "--network", "none", "--rm", "--name", "old", busybox, "true", check=True)
    cut = time.time()
    rsd("run", "--network", "none", "--rm", "--name", "new", busybox, "true", check=True)
    out = ok(rsd("events", "--since", f"{cut:.6f}", "--until", str(time.time() + 1),
                 "--format", "{{.Actor.Attributes.name}}"))
    assert set(out.split()) == {"new"}


def test_bad_filter_is_refused(rsd):
    proc = rsd("events", "--filter", "colour=red", "--until", "0")
    assert proc.returncode == 125
    assert proc.stderr.strip() == "rs-docker: invalid filter 'colour'"


def test_follow_prints_new_events_until_interrupted(rsd, busybox):
    rsd("pull", busybox, check=True)
    follower = subprocess.Popen([str(rsd.script), "--root", str(rsd.root), "events",
                                 "--filter", "event=die", "--format", "{{json .}}"],
                                stdout=subprocess.PIPE, text=True, env=rsd.base_env)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(follower.stdout), daemon=True)
    reader.start()
    try:
        # The follower prints only what happens after it started: make
        # events until one shows.
        def seen() -> bool:
            rsd("run", "--network", "none", "--rm", "--name", "followed", busybox, "true", check=True)
            return bool(lines)

        assert wait_for(seen, timeout=30)
        event = json.loads(lines[0])
        assert event["Action"] == "die" and event["Actor"]["Attributes"]["name"] == "followed"
    finally:
        follower.send_signal(2)
        assert follower.wait(timeout=20) == 0


def test_detached_lifecycle_events(rsd, busybox):
    cid = ok(rsd("run", "--network", "none", "-d", "--name", "det", busybox, "sleep", "300")).strip()
    ok(rsd("stop", "-t", "1", "det"))
    ok(rsd("rm", "det"))
    got = [e["Action"] for e in _events(rsd, "--filter", f"container={cid[:12]}")]
    assert got[:2] == ["create", "start"]
    assert got[-1] == "destroy"
    assert "die" in got and "stop" in got and got.index("kill") < got.index("stop")


def test_the_log_is_rotated_past_its_size(rsd, busybox):
    from rs_docker.container import events as ev

    rsd("run", "--network", "none", "--rm", busybox, "true", check=True)
    log = rsd.root / ev.LOG
    with open(log, "ab") as f:  # as if many commands had run
        f.write(b"{}\n" * (ev.MAX_BYTES // 3 + 1))
    rsd("run", "--network", "none", "--rm", "--name", "after", busybox, "true", check=True)
    assert (rsd.root / ev.OLD).exists()
    assert log.stat().st_size < ev.MAX_BYTES
    names = {e["Actor"]["Attributes"].get("name") for e in _events(rsd)}
    assert "after" in names
