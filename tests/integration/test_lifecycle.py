"""Detached containers and Docker's everyday commands, daemonless: run -d,
ps, logs, exec, stop, kill, wait, start, rm, inspect — real containers."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from tests.fixtures.cli import busybox_store, ok, wait_for

pytestmark = pytest.mark.root


rs = busybox_store("lifecycle")


def run_d(rs, *args) -> str:
    cid = ok(rs("run", "-d", *args)).strip()
    assert len(cid) == 64, cid
    return cid


def record(rs, cid) -> dict:
    return json.loads(ok(rs("inspect", cid)))[0]


def test_run_d_ps_logs_exec_stop_rm(rs, busybox):
    cid = run_d(rs, "--name", "web1", busybox, "sh", "-c",
                "echo out; echo err >&2; echo data > /tmp/f; trap 'exit 0' TERM; "
                "while true; do sleep 0.1; done")
    ps = ok(rs("ps"))
    header, *rows = ps.splitlines()
    assert header.split()[:3] == ["CONTAINER", "ID", "IMAGE"]
    row = [r for r in rows if r.startswith(cid[:12])]
    assert row and "Up " in row[0] and row[0].rstrip().endswith("web1")
    assert wait_for(lambda: "out" in rs("logs", "web1").stdout)
    logs = rs("logs", "web1")
    assert logs.stdout == "out\n" and logs.stderr == "err\n"
    # exec sees the container's PID namespace and files
    assert ok(rs("exec", "web1", "cat", "/tmp/f")) == "data\n"
    pid1 = ok(rs("exec", "web1", "cat", "/proc/1/cmdline")).split("\0")
    assert pid1[:2] == ["sh", "-c"]
    assert rs("exec", "web1", "sh", "-c", "exit 7").returncode == 7
    assert rs("exec", "web1", "nosuchcommand").returncode == 127
    start = time.monotonic()
    assert ok(rs("stop", "web1")) == "web1\n"
    # the trap honoured SIGTERM: no SIGKILL after the default 10 s
    assert time.monotonic() - start < 10
    info = record(rs, cid)
    assert info["State"]["Status"] == "exited" and info["State"]["ExitCode"] == 0
    assert info["Name"] == "/web1" and info["Id"] == cid
    assert ok(rs("rm", "web1")) == "web1\n"
    assert cid not in ok(rs("ps", "-aq", "--no-trunc"))
    assert not (rs.root / "containers" / cid).exists()


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def test_monitor_is_small_and_detached(rs, busybox):
    cid = run_d(rs, busybox, "sleep", "1000")
    doc = json.loads((rs.root / "containers" / cid / "container.json").read_text())
    monitor = doc["RsDocker"]["MonitorPid"]
    assert os.readlink(f"/proc/{monitor}/fd/0") == "/dev/null"
    sid = os.getsid(monitor)
    assert sid != os.getsid(0) and sid != monitor  # setsid, then forked again
    kb = rss_kb(monitor)
    print(f"monitor RSS {kb} kB")
    assert kb < 30_000
    ok(rs("rm", "-f", cid))


def test_stop_kills_after_the_timeout_when_term_is_ignored(rs, busybox):
    # sleep as PID 1 has no TERM handler: the kernel ignores the signal.
    cid = run_d(rs, busybox, "sleep", "1000")
    start = time.monotonic()
    assert ok(rs("stop", "-t", "1", cid[:12])) == cid[:12] + "\n"
    took = time.monotonic() - start
    assert 0.9 < took < 10, took   # -t 1, not the default 10 s
    assert ok(rs("wait", cid)) == "137\n"
    assert "Exited (137)" in ok(rs("ps", "-a", "--filter", f"id={cid}"))
    ok(rs("rm", cid))


def test_stop_signal_and_kill_signal_names(rs, busybox):
    cid = run_d(rs, "--stop-signal", "USR1", busybox, "sh", "-c",
                "trap 'exit 10' USR1; trap 'exit 11' HUP; echo trapped; "
                "while true; do sleep 0.1; done")
    assert record(rs, cid)["Config"]["StopSignal"] == "USR1"
    assert wait_for(lambda: rs("logs", cid).stdout == "trapped\n")   # traps installed
    ok(rs("stop", cid))
    assert ok(rs("wait", cid)) == "10\n"
    ok(rs("start", cid))
    assert ok(rs("inspect", "-f", "{{.State.Status}}", cid)) == "running\n"
    # sh has installed its traps once it says so (a second time: logs append)
    assert wait_for(lambda: rs("logs", cid).stdout == "trapped\n" * 2)
    ok(rs("kill", "-s", "1", cid))
    assert ok(rs("wait", cid)) == "11\n"
    proc = rs("kill", cid)
    assert proc.returncode == 1 and "is not running" in proc.stderr
    ok(rs("rm", cid))


def test_start_reuses_the_rootfs_and_logs_append(rs, busybox):
    cid = run_d(rs, busybox, "sh", "-c", "echo run >> /count; cat /count")
    assert ok(rs("wait", cid)) == "0\n"
    ok(rs("start", cid))
    assert ok(rs("wait", cid)) == "0\n"
    assert ok(rs("logs", cid)) == "run\nrun\nrun\n"
    assert ok(rs("logs", "--tail", "1", cid)) == "run\n"
    stamped = ok(rs("logs", "-t", "--tail", "1", cid))
    assert stamped.endswith("Z run\n") and stamped[:4].isdigit()
    attached = rs("start", "-a", cid)
    assert attached.returncode == 0 and attached.stdout == "run\nrun\nrun\n"
    ok(rs("rm", cid))


def test_logs_follow_until_exit_and_streams_apart(rs, busybox):
    cid = run_d(rs, busybox, "sh", "-c", "for i in 1 2 3; do echo o$i; echo e$i >&2; "
                                         "sleep 0.3; done; exit 3")
    start = time.monotonic()
    proc = rs("logs", "-f", cid)
    assert proc.returncode == 0
    assert proc.stdout == "o1\no2\no3\n" and proc.stderr == "e1\ne2\ne3\n"
    assert time.monotonic() - start > 0.3
    log = rs.root / "containers" / cid / f"{cid}-json.log"
    first = json.loads(log.read_text().splitlines()[0])
    assert set(first) == {"log", "stream", "time"} and first["time"].endswith("Z")
    assert ok(rs("inspect", "-f", "{{.State.ExitCode}} {{.State.Running}}", cid)) == "3 false\n"
    ok(rs("rm", cid))


def test_names_conflict_generated_names_and_prefixes(rs, busybox):
    a = run_d(rs, "--name", "dup", busybox, "true")
    proc = rs("run", "-d", "--name", "dup", busybox, "true")
    assert proc.returncode == 125
    assert (f'Conflict. The container name "/dup" is already in use by container "{a}". '
            f"You have to remove (or rename) that container to be able to reuse that name."
            ) in proc.stderr
    b = run_d(rs, busybox, "true")
    name = ok(rs("inspect", "-f", "{{.Name}}", b)).strip()
    assert name.startswith("/") and "_" in name
    assert ok(rs("inspect", "-f", "{{.Id}}", a[:6])) == a + "\n"
    assert ok(rs("inspect", "-f", "{{.Id}}", name)) == b + "\n"
    missing = rs("rm", "nosuchcontainer")
    assert missing.returncode == 1 and "No such container: nosuchcontainer" in missing.stderr
    ok(rs("wait", a, b))
    assert ok(rs("rm", "dup", b[:10])) == f"dup\n{b[:10]}\n"


def test_rm_refuses_a_running_container_unless_forced(rs, busybox):
    cid = run_d(rs, "--name", "busy", busybox, "sleep", "1000")
    proc = rs("rm", "busy")
    assert proc.returncode == 1
    assert ('cannot remove container "/busy": container is running: stop the container '
            "before removing or force remove") in proc.stderr
    cgroups = record_raw(rs, cid)["RsDocker"]["CgroupPaths"]
    assert ok(rs("rm", "-f", "busy")) == "busy\n"
    assert not (rs.root / "containers" / cid).exists()
    assert not any(os.path.exists(p) for p in cgroups.values())
    assert not (rs.root / "names" / "busy").exists()


def record_raw(rs, cid) -> dict:
    return json.loads((rs.root / "containers" / cid / "container.json").read_text())


def test_a_killed_monitor_is_detected(rs, busybox):
    cid = run_d(rs, busybox, "sleep", "1000")
    doc = record_raw(rs, cid)
    pid1 = doc["State"]["Pid"]
    os.kill(doc["RsDocker"]["MonitorPid"], signal.SIGKILL)
    assert wait_for(lambda: "Exited (137)" in rs("ps", "-a", "--filter", f"id={cid}").stdout)
    assert cid[:12] not in ok(rs("ps"))
    assert wait_for(lambda: not os.path.exists(f"/proc/{pid1}") or
                    open(f"/proc/{pid1}/stat").read().split(") ")[1][0] == "Z")
    ok(rs("rm", cid))


def test_run_d_rm_removes_after_exit(rs, busybox):
    cid = run_d(rs, "--rm", busybox, "sh", "-c", "sleep 0.2")
    assert wait_for(lambda: not (rs.root / "containers" / cid).exists())


def test_run_d_errors(rs, busybox):
    cid = run_d(rs, "-t", busybox, "true")  # -d -t: the monitor keeps the pty (attach)
    assert ok(rs("wait", cid)) == "0\n"
    ok(rs("rm", cid))
    proc = rs("run", "-d", "--name", "bad", busybox, "nosuchcommand")
    assert proc.returncode == 127 and proc.stdout == ""
    assert ok(rs("ps", "-a", "--filter", "name=^bad$", "--format", "{{.Status}}")) == \
        "Created\n"
    ok(rs("rm", "bad"))


def test_exec_options_and_stopped_container(rs, busybox):
    cid = run_d(rs, busybox, "sleep", "1000")
    assert ok(rs("exec", "-u", "app", "-w", "/tmp", "-e", "X=1", cid, "sh", "-c",
                 "id -u; pwd; echo $X $HOME")) == "1000\n/tmp\n1 /home/app\n"
    assert ok(rs("exec", "-i", cid, "tr", "a", "b", input="aaa")) == "bbb"
    ok(rs("exec", "-d", cid, "sh", "-c", "echo bg > /tmp/bg"))
    assert wait_for(lambda: rs("exec", cid, "cat", "/tmp/bg").stdout == "bg\n")
    assert rs("exec", cid, "/etc").returncode == 126
    ok(rs("kill", cid))
    proc = rs("exec", cid, "true")
    assert proc.returncode == 1 and f"container {cid} is not running" in proc.stderr
    ok(rs("rm", cid))


def test_ps_filters_and_formats(rs, busybox):
    up = run_d(rs, "--name", "f-up", busybox, "sleep", "1000")
    done = run_d(rs, "--name", "f-done", busybox, "sh", "-c", "exit 2")
    ok(rs("wait", done))
    assert ok(rs("ps", "-q", "--filter", "name=f-")) == up[:12] + "\n"
    assert ok(rs("ps", "-q", "--filter", "status=exited", "--filter", "name=f-")) == \
        done[:12] + "\n"
    assert set(ok(rs("ps", "-aq", "--filter", "name=f-")).split()) == {up[:12], done[:12]}
    assert ok(rs("ps", "-aq", "--filter", f"ancestor={busybox}", "--filter", "name=f-done")) \
        == done[:12] + "\n"
    lines = ok(rs("ps", "-a", "--filter", "name=f-", "--format", "json")).splitlines()
    objs = {o["Names"]: o for o in map(json.loads, lines)}
    assert objs["f-up"]["State"] == "running" and objs["f-up"]["Status"].startswith("Up ")
    assert objs["f-done"]["Status"].startswith("Exited (2) ")
    assert objs["f-up"]["Command"] == '"sleep 1000"'
    assert ok(rs("ps", "--filter", "name=f-up", "--format", "{{.ID}} {{.Names}}")) == \
        f"{up[:12]} f-up\n"
    assert ok(rs("ps", "--no-trunc", "-q", "--filter", "name=f-up")) == up + "\n"
    bad = rs("ps", "--filter", "status=sleepy")
    assert bad.returncode == 1 and "invalid filter" in bad.stderr
    ok(rs("rm", "-f", up, done))


def test_inspect_shape_and_templates(rs, busybox):
    cid = run_d(rs, busybox, "sleep", "1000")
    info = record(rs, cid)
    for key in ("Id", "Name", "Created", "Path", "Args", "State", "Image", "Config",
                "HostConfig", "Mounts", "NetworkSettings", "GraphDriver"):
        assert key in info
    assert "RsDocker" not in info
    st = info["State"]
    assert st["Running"] and st["Status"] == "running" and st["Pid"] > 0
    assert set(st) >= {"Status", "Running", "Paused", "Restarting", "OOMKilled", "Dead", "Pid",
                       "ExitCode", "Error", "StartedAt", "FinishedAt"}
    assert info["Path"] == "sleep" and info["Args"] == ["1000"]
    config = json.loads(ok(rs("inspect", "-f", "{{json .Config}}", cid)))
    assert config["Cmd"] == ["sleep", "1000"]
    # On the default bridge: the legacy top-level field is the bridge's address.
    address = ok(rs("container", "inspect", "-f", "{{.NetworkSettings.IPAddress}}", cid))
    assert address.strip() and address == ok(rs(
        "container", "inspect", "-f", "{{.NetworkSettings.Networks.bridge.IPAddress}}", cid))
    image = json.loads(ok(rs("inspect", busybox)))[0]
    assert image["Id"] == info["Image"]
    proc = rs("inspect", "nothing-here")
    assert proc.returncode == 1 and "No such object: nothing-here" in proc.stderr
    # the image is in use: rmi refuses without -f
    proc = rs("rmi", busybox)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert proc.stderr == (f'rs-docker: conflict: unable to remove repository reference '
                           f'"{busybox}" (must force) - container {cid[:12]} is using its '
                           f'referenced image {image["Id"].removeprefix("sha256:")[:12]}\n')
    ok(rs("rm", "-f", cid))


def test_container_aliases_and_prune(rs, busybox):
    cid = run_d(rs, busybox, "true")
    assert ok(rs("container", "wait", cid)) == "0\n"
    assert cid[:12] in ok(rs("container", "ls", "-a"))
    keep = run_d(rs, busybox, "sleep", "1000")
    out = ok(rs("container", "prune", "-f"))
    assert out.startswith("Deleted Containers:\n") and cid in out and keep not in out
    assert out.endswith("Total reclaimed space: 0B\n")
    assert ok(rs("container", "ls", "-q")) .split() == [keep[:12]]
    ok(rs("container", "rm", "-f", keep))


def test_twenty_detached_containers(rs, busybox):
    from concurrent.futures import ThreadPoolExecutor

    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(lambda i: run_d(rs, "--name", f"many{i}", busybox, "sleep", "1000"),
                            range(20)))
    assert len(set(ids)) == 20
    listed = ok(rs("ps", "-q", "--no-trunc", "--filter", "name=many")).split()
    assert sorted(listed) == sorted(ids)
    ok(rs("stop", "-t", "1", *ids))
    assert ok(rs("ps", "-q", "--filter", "name=many")) == ""
    ok(rs("rm", *ids))
    assert ok(rs("ps", "-aq", "--filter", "name=many")) == ""
    print(f"20 containers: {time.monotonic() - start:.1f}s")
