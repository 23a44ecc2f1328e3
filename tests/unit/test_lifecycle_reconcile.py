"""A "running" record is checked against the processes it names (PID plus
start time), so a dead monitor or a reused PID cannot keep it "Up"."""

import os
import subprocess

from rs_docker.container import lifecycle, recorded_pid


def running(pid, ticks, monitor=None, monitor_ticks=None) -> dict:
    rec = {"State": {"Status": "running", "Running": True, "Pid": pid, "ExitCode": 0},
           "RsDocker": {"PidStartTime": ticks}}
    if monitor:
        rec["RsDocker"].update(MonitorPid=monitor, MonitorStartTime=monitor_ticks)
    return rec


def dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_live_monitor_keeps_running():
    me = os.getpid()
    rec = running(me, recorded_pid.start_ticks(me), me, recorded_pid.start_ticks(me))
    assert lifecycle.reconcile(rec) is False and rec["State"]["Status"] == "running"


def test_dead_monitor_kills_the_orphan_and_records_137():
    orphan = subprocess.Popen(["sleep", "100"])
    try:
        rec = running(orphan.pid, recorded_pid.start_ticks(orphan.pid), dead_pid(), 1)
        assert lifecycle.reconcile(rec) is True
        assert orphan.wait(timeout=5) == -9
        st = rec["State"]
        assert (st["Status"], st["Running"], st["Pid"], st["ExitCode"]) == \
            ("exited", False, 0, 137)
        assert st["Error"] == lifecycle.MONITOR_DIED
    finally:
        orphan.kill()


def test_a_reused_pid_is_not_the_container():
    me = os.getpid()
    rec = running(me, recorded_pid.start_ticks(me) + 1)  # same number, other start time
    assert lifecycle.reconcile(rec) is True
    assert rec["State"]["Status"] == "exited" and rec["State"]["ExitCode"] == 255


def test_not_running_records_are_left_alone():
    rec = {"State": {"Status": "exited", "ExitCode": 3}}
    assert lifecycle.reconcile(rec) is False and rec["State"]["ExitCode"] == 3


def test_wait_gone_and_send_refuse_a_stale_start_time():
    child = subprocess.Popen(["sleep", "100"])
    ticks = recorded_pid.start_ticks(child.pid)
    assert recorded_pid.send(child.pid, ticks + 1, 9) is False
    assert recorded_pid.wait_gone(child.pid, ticks, 0.05) is False
    assert recorded_pid.send(child.pid, ticks, 9) is True
    child.wait()
    assert recorded_pid.alive(child.pid, ticks) is False
