"""The stall meter (registry/stall.py): curl's --speed-limit/--speed-time over
consecutive windows, on a clock the test advances."""

from __future__ import annotations

import pytest

from rs_docker.context import Context
from rs_docker.registry.stall import StallLimit, TransferStalled


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def meter(seconds=2.0, min_rate=1024):
    clock = Clock()
    return StallLimit(seconds, min_rate).meter("blob sha256:ab", clock), clock


def test_a_trickle_is_stopped_once_a_window_ends_below_the_rate():
    m, clock = meter()
    for _ in range(7):
        clock.now += 0.25
        m.add(1)                       # 7 bytes in 1.75 s: the window is not over
    clock.now += 0.25
    with pytest.raises(TransferStalled, match=r"^blob sha256:ab: transfer too slow: 8 bytes in "
                                              r"the last 2 s \(minimum 1024 bytes/s\)$"):
        m.add(1)


def test_each_window_is_judged_on_its_own():
    m, clock = meter()
    clock.now += 2.0
    m.add(2048)                        # exactly the rate: a new window starts
    clock.now += 1.9
    m.add(1)
    clock.now += 0.2
    with pytest.raises(TransferStalled, match="2 bytes in the last 2.1 s"):
        m.add(1)


def test_a_steady_transfer_over_many_windows_passes():
    m, clock = meter(min_rate=20)
    for _ in range(1000):              # 100 bytes/s for 10 s
        clock.now += 0.01
        m.add(1)


def test_rate_zero_only_catches_silence():
    m, clock = meter(min_rate=0)
    clock.now += 3600
    m.add(1)
    clock.now += 5
    assert str(m.silent()) == ("blob sha256:ab: transfer too slow: 0 bytes in the last 5 s "
                               "(minimum 0 bytes/s)")


def test_silence_reports_at_least_the_window():
    m, clock = meter()
    assert "0 bytes in the last 2 s" in str(m.silent())


def test_context_defaults_and_the_limit_taken_from_it():
    ctx = Context(root="/nonexistent")
    assert StallLimit.of(ctx) == StallLimit(30.0, 1024)
    ctx = Context(root="/nonexistent", pull_stall_seconds=2.5, pull_min_rate=0)
    assert StallLimit.of(ctx) == StallLimit(2.5, 0)


@pytest.mark.parametrize(("name", "value", "parsed"), [
    ("RS_DOCKER_PULL_STALL_SECONDS", "2", 2.0), ("RS_DOCKER_PULL_STALL_SECONDS", " 0.5 ", 0.5),
    ("RS_DOCKER_PULL_STALL_SECONDS", "", 30.0), ("RS_DOCKER_PULL_MIN_RATE", "0", 0),
    ("RS_DOCKER_PULL_MIN_RATE", "65536", 65536),
])
def test_settings_from_the_environment(monkeypatch, name, value, parsed):
    monkeypatch.setenv(name, value)
    ctx = Context.from_env(root="/nonexistent")
    field = "pull_stall_seconds" if name.endswith("SECONDS") else "pull_min_rate"
    assert getattr(ctx, field) == parsed
