"""Restart policies carried out by a detached container's monitor
(container/restart.py), `system restore` after a simulated reboot, and
`generate systemd`, through the real CLI."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess

import pytest

from tests.fixtures.cli import busybox_store, ok, wait_for

pytestmark = pytest.mark.root


rs = busybox_store("restart")


def run_d(rs, *args) -> str:
    cid = ok(rs("run", "-d", "--network", "none", *args)).strip()
    assert len(cid) == 64, cid
    return cid


def inspect(rs, cid) -> dict:
    return json.loads(ok(rs("inspect", cid)))[0]


def raw(rs, cid) -> dict:
    return json.loads((rs.root / "containers" / cid / "container.json").read_text())


def gone(pid) -> bool:
    """No such process, or a zombie (its reaper has not come by yet)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def settled(rs, cid) -> bool:
    """The monitor is gone and the record says exited."""
    doc = raw(rs, cid)
    monitor = doc["RsDocker"].get("MonitorPid")
    return doc["State"]["Status"] == "exited" and (not monitor or gone(monitor))


@pytest.mark.parametrize("flag, message", [
    ("foo", "invalid restart policy: unknown policy 'foo'; use one of 'no', 'always', "
            "'on-failure', or 'unless-stopped'"),
    ("always:3", "invalid restart policy: maximum retry count can only be used with "
                 "'on-failure'"),
    ("no:-1", "invalid restart policy: maximum retry count can only be used with "
              "'on-failure' and cannot be negative"),
    ("on-failure:x", "invalid restart policy format: maximum retry count must be an integer"),
    ("on-failure:-2", "invalid restart policy: maximum retry count cannot be negative"),
    (":3", "invalid restart policy format: no policy provided before colon"),
])
def test_bad_policies_are_refused_as_docker_does(rs, busybox, flag, message):
    p = rs("run", "-d", "--restart", flag, busybox, "true")
    assert p.returncode == 125
    assert p.stderr.strip() == f"rs-docker: {message}"
    assert ok(rs("ps", "-aq")) == ""  # first in the module: nothing else there yet


def test_restart_and_rm_conflict(rs, busybox):
    p = rs("run", "--rm", "--restart", "always", busybox, "true")
    assert p.returncode == 125
    assert "--restart and --rm" in p.stderr


def test_on_failure_3_restarts_exactly_three_times(rs, busybox):
    cid = run_d(rs, "--restart", "on-failure:3", busybox, "sh", "-c", "echo run; exit 1")
    assert wait_for(lambda: settled(rs, cid))
    doc = inspect(rs, cid)
    assert doc["RestartCount"] == 3
    assert doc["HostConfig"]["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    assert doc["State"]["ExitCode"] == 1
    # one run, then three restarts: four runs in the log, and no more later
    assert ok(rs("logs", cid)) == "run\n" * 4
    assert "Exited (1)" in ok(rs("ps", "-a", "--filter", f"id={cid}"))


def test_on_failure_does_not_restart_a_success(rs, busybox):
    cid = run_d(rs, "--restart", "on-failure", busybox, "true")
    assert wait_for(lambda: settled(rs, cid))
    assert inspect(rs, cid)["RestartCount"] == 0


def test_always_restarts_until_stopped_and_stop_keeps_it_stopped(rs, busybox):
    cid = run_d(rs, "--restart", "always", busybox, "sh", "-c", "echo up; sleep 0.2")
    assert wait_for(lambda: inspect(rs, cid)["RestartCount"] >= 2)
    ok(rs("stop", "-t", "1", cid))
    doc = inspect(rs, cid)
    assert doc["State"]["Status"] == "exited"
    count = doc["RestartCount"]
    assert wait_for(lambda: settled(rs, cid))
    # stopped means stopped: nothing starts it again behind the user's back
    assert ok(rs("ps", "-q", "--filter", f"id={cid}")) == ""
    assert inspect(rs, cid)["RestartCount"] == count
    ok(rs("rm", cid))


def test_killed_container_with_always_is_not_restarted(rs, busybox):
    cid = run_d(rs, "--restart", "always", busybox, "sleep", "1000")
    ok(rs("kill", cid))
    assert wait_for(lambda: settled(rs, cid))
    assert inspect(rs, cid)["State"]["ExitCode"] == 137
    assert inspect(rs, cid)["RestartCount"] == 0
    ok(rs("rm", cid))


def test_a_crash_of_the_process_is_restarted_with_a_new_pid(rs, busybox):
    cid = run_d(rs, "--restart", "unless-stopped", busybox, "sleep", "1000")
    first = raw(rs, cid)["State"]["Pid"]
    os.kill(first, signal.SIGKILL)  # not through rs-docker: a crash
    assert wait_for(lambda: raw(rs, cid)["State"]["Status"] == "running"
                    and raw(rs, cid)["State"]["Pid"] not in (0, first))
    assert inspect(rs, cid)["RestartCount"] == 1
    ok(rs("rm", "-f", cid))
    assert not os.path.exists(rs.root / "containers" / cid)


def test_rm_f_during_the_back_off(rs, busybox):
    cid = run_d(rs, "--restart", "always", busybox, "false")
    assert wait_for(lambda: inspect(rs, cid)["RestartCount"] >= 6)  # back-off >= 3.2 s now
    monitor = raw(rs, cid)["RsDocker"]["MonitorPid"]
    ok(rs("rm", "-f", cid))
    assert cid[:12] not in ok(rs("ps", "-aq"))
    assert not os.path.exists(rs.root / "containers" / cid)
    assert gone(monitor)


def reboot(rs, cid) -> None:
    """What a reboot does to a container: its monitor and processes are
    killed, the record still says running."""
    doc = raw(rs, cid)
    for pid in (doc["RsDocker"]["MonitorPid"], doc["State"]["Pid"]):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_system_restore_after_a_reboot(rs, busybox):
    always = run_d(rs, "--name", "r-always", "--restart", "always", busybox, "sleep", "1000")
    unless = run_d(rs, "--name", "r-unless", "--restart", "unless-stopped", busybox,
                   "sleep", "1000")
    stopped = run_d(rs, "--name", "r-stopped", "--restart", "unless-stopped", busybox,
                    "sleep", "1000")
    plain = run_d(rs, "--name", "r-plain", busybox, "sleep", "1000")
    ok(rs("stop", "-t", "0", stopped))
    for cid in (always, unless, plain):
        reboot(rs, cid)
    for cid in (always, unless, plain):
        assert wait_for(lambda c=cid: gone(raw(rs, c)["RsDocker"]["MonitorPid"]))
    started = ok(rs("system", "restore")).split()
    assert sorted(started) == ["r-always", "r-unless"]
    running = set(ok(rs("ps", "-q", "--no-trunc")).split())
    assert running == {always, unless}
    # a restored container is supervised again: its restart policy holds
    os.kill(raw(rs, always)["State"]["Pid"], signal.SIGKILL)
    assert wait_for(lambda: raw(rs, always)["State"]["Status"] == "running"
                    and inspect(rs, always)["RestartCount"] == 1)
    # nothing more to restore now
    assert ok(rs("system", "restore")) == ""
    ok(rs("rm", "-f", always, unless, stopped, plain))


def test_generate_systemd(rs, busybox, tmp_path):
    cid = run_d(rs, "--name", "unit-web", "--restart", "always", busybox, "sleep", "1000")
    text = ok(rs("generate", "systemd", "--name", "unit-web"))
    assert "[Service]" in text and "[Install]" in text
    start = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    stop = next(line for line in text.splitlines() if line.startswith("ExecStop="))
    assert start.endswith(f"--root {rs.root} start unit-web")
    assert stop.endswith(f"--root {rs.root} stop -t 10 unit-web")
    # the unit's commands work as written
    subprocess.run(shlex.split(stop.removeprefix("ExecStop=")), check=True)
    assert ok(rs("ps", "-q")) == ""
    subprocess.run(shlex.split(start.removeprefix("ExecStart=")), check=True)
    assert ok(rs("ps", "-q", "--no-trunc")).strip() == cid
    p = subprocess.run([str(rs.script), "--root", str(rs.root), "generate", "systemd",
                        "--files", "unit-web"], cwd=tmp_path, capture_output=True, text=True,
                       env=rs.base_env)
    assert ok(p).strip() == str(tmp_path / f"container-{cid}.service")
    assert (tmp_path / f"container-{cid}.service").read_text().startswith(
        f"# container-{cid}.service")
    ok(rs("rm", "-f", cid))


def test_each_restart_is_a_die_and_a_start_event(rs, busybox):
    cid = run_d(rs, "--restart", "on-failure:2", busybox, "false")
    assert wait_for(lambda: settled(rs, cid))
    lines = (rs.root / "events.jsonl").read_text().splitlines()
    mine = [json.loads(line)["Action"] for line in lines if cid in line]
    assert mine.count("die") == 3 and mine.count("start") == 3
    ok(rs("rm", cid))


def test_bridge_networking_across_restarts_and_a_stop_in_the_back_off(rs, busybox):
    cid = ok(rs("run", "-d", "--restart", "on-failure:1", busybox, "sh", "-c",
                "ip -4 addr show eth0 | grep -o 'inet [0-9.]*'; exit 1")).strip()
    assert wait_for(lambda: settled(rs, cid))
    first, second = ok(rs("logs", cid)).splitlines()
    assert first == second and first.startswith("inet ")  # the same address both times
    assert not os.path.exists(f"/run/rs-docker/netns/{cid}")  # down once it stays stopped
    ok(rs("rm", cid))
    cid = ok(rs("run", "-d", "--restart", "always", busybox, "false")).strip()
    assert wait_for(lambda: inspect(rs, cid)["RestartCount"] >= 5)  # back-offs of seconds now
    ok(rs("stop", cid))
    assert settled(rs, cid)
    assert not os.path.exists(f"/run/rs-docker/netns/{cid}")
    ok(rs("rm", cid))
