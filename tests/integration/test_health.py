"""Healthchecks run by a detached container's monitor (container/health.py,
the waiter's HealthTimer), through the exec path, seen in inspect and ps."""

from __future__ import annotations

import json

import pytest

from tests.conftest import module_rsd_removing
from tests.fixtures.cli import ok, run_d, wait_for
from tests.fixtures.images import ImageSpec, busybox_layer, default_config, push

pytestmark = pytest.mark.root
NS = 1_000_000_000


@pytest.fixture(scope="module")
def health_image(pusher) -> str:
    """An image whose HEALTHCHECK passes once /tmp/ready exists."""
    config = {**default_config(), "Healthcheck": {
        "Test": ["CMD-SHELL", "cat /tmp/ready"], "Interval": NS // 5, "Retries": 2}}
    return push(pusher, "health/withcheck", "latest",
                ImageSpec([busybox_layer()], config)).ref


@pytest.fixture(scope="module")
def rs(images, health_image, tmp_path_factory):
    yield from module_rsd_removing(tmp_path_factory, "health", images.busybox.ref, health_image)


def health(rs, cid) -> dict:
    return json.loads(ok(rs("inspect", cid)))[0]["State"].get("Health") or {}


def ps_status(rs, cid) -> str:
    return ok(rs("ps", "--filter", f"id={cid}", "--format", "{{.Status}}")).strip()


def test_a_failing_check_turns_unhealthy_in_ps(rs, busybox):
    cid = run_d(rs, "--health-cmd", "echo sick; exit 3", "--health-interval", "100ms",
                "--health-retries", "2", busybox, "sleep", "1000")
    assert ps_status(rs, cid).endswith("(health: starting)")
    assert wait_for(lambda: health(rs, cid).get("Status") == "unhealthy")
    assert ps_status(rs, cid).endswith("(unhealthy)")
    h = health(rs, cid)
    assert h["FailingStreak"] >= 2
    assert 1 <= len(h["Log"]) <= 5
    last = h["Log"][-1]
    assert (last["ExitCode"], last["Output"]) == (3, "sick\n")
    assert last["Start"] <= last["End"]
    assert cid[:12] in ok(rs("ps", "-q", "--filter", "health=unhealthy"))
    assert cid[:12] not in ok(rs("ps", "-q", "--filter", "health=healthy"))
    # the log keeps the last five results only
    assert wait_for(lambda: health(rs, cid)["FailingStreak"] >= 7)
    assert len(health(rs, cid)["Log"]) == 5
    ok(rs("rm", "-f", cid))


def test_the_check_runs_inside_the_container(rs, busybox):
    # passes only where /inside exists: the container's root, not the host's
    cid = run_d(rs, "--health-cmd", "test -f /inside && hostname", "--health-interval",
                "100ms", "--hostname", "probe-host", busybox, "sh", "-c",
                "touch /inside; exec sleep 1000")
    assert wait_for(lambda: health(rs, cid).get("Status") == "healthy")
    assert health(rs, cid)["Log"][-1]["Output"] == "probe-host\n"
    assert ps_status(rs, cid).endswith("(healthy)")
    assert cid[:12] in ok(rs("ps", "-q", "--filter", "health=healthy"))
    ok(rs("rm", "-f", cid))


def test_the_image_healthcheck_and_recovery(rs, health_image):
    cid = run_d(rs, health_image, "sleep", "1000")
    check = json.loads(ok(rs("inspect", cid)))[0]["Config"]["Healthcheck"]
    assert check["Test"] == ["CMD-SHELL", "cat /tmp/ready"]
    assert wait_for(lambda: health(rs, cid).get("Status") == "unhealthy")
    ok(rs("exec", cid, "touch", "/tmp/ready"))
    assert wait_for(lambda: health(rs, cid).get("Status") == "healthy")
    assert health(rs, cid)["FailingStreak"] == 0
    ok(rs("rm", "-f", cid))


def test_a_check_past_its_timeout_is_killed(rs, busybox):
    cid = run_d(rs, "--health-cmd", "sleep 100", "--health-interval", "100ms",
                "--health-timeout", "300ms", "--health-retries", "1", busybox, "sleep", "1000")
    assert wait_for(lambda: health(rs, cid).get("Status") == "unhealthy")
    last = health(rs, cid)["Log"][-1]
    assert (last["ExitCode"], last["Output"]) == (-1, "Health check exceeded timeout (300ms)")
    # a timed-out probe's processes do not linger in the container: after
    # three of them, at most the one running now is there
    assert wait_for(lambda: len(health(rs, cid)["Log"]) >= 3)
    assert ok(rs("exec", cid, "ps")).count("sleep 100\n") <= 1
    ok(rs("rm", "-f", cid))


def test_start_period_failures_are_not_counted(rs, busybox):
    cid = run_d(rs, "--health-cmd", "false", "--health-interval", "100ms",
                "--health-start-period", "1h", "--health-start-interval", "100ms",
                "--health-retries", "1", busybox, "sleep", "1000")
    assert wait_for(lambda: len(health(rs, cid).get("Log") or []) >= 3)
    h = health(rs, cid)
    assert (h["Status"], h["FailingStreak"]) == ("starting", 0)
    ok(rs("rm", "-f", cid))


def test_no_healthcheck_turns_the_image_one_off(rs, health_image):
    cid = run_d(rs, "--no-healthcheck", health_image, "sleep", "1000")
    assert json.loads(ok(rs("inspect", cid)))[0]["Config"]["Healthcheck"]["Test"] == ["NONE"]
    assert health(rs, cid) == {}
    assert "(" not in ps_status(rs, cid)
    assert cid[:12] in ok(rs("ps", "-q", "--filter", "health=none"))
    ok(rs("rm", "-f", cid))


@pytest.mark.parametrize("args, message", [
    (("--no-healthcheck", "--health-cmd", "true"),
     "--no-healthcheck conflicts with --health-* options"),
    (("--health-interval", "5"),
     'invalid argument "5" for "--health-interval" flag: time: missing unit in duration "5"'),
    (("--health-timeout", "-1s"), "--health-timeout cannot be negative"),
    (("--health-retries", "-1"), "--health-retries cannot be negative"),
    (("--health-interval", "10us"), "Interval in Healthcheck cannot be less than 1ms"),
])
def test_bad_health_flags(rs, busybox, args, message):
    p = rs("run", "-d", "--network", "none", *args, busybox, "true")
    assert (p.returncode, p.stderr.strip()) == (125, f"rs-docker: {message}")


def test_bad_health_filter(rs):
    p = rs("ps", "--filter", "health=sick")
    assert p.returncode != 0
    assert "Unrecognised filter value for health: sick" in p.stderr
