"""The start-up slot (runtime/startup.StartUp) through the library API:
while it is held a start is fast (the collector off, the cgroup warm-up
running with a short switch interval, PID 1 preforked); after a run, or a
failure before one, the interpreter is as it was and no process is left."""

from __future__ import annotations

import gc
import sys

import pytest

from rs_docker.runtime.cgroups import warmup
from rs_docker.runtime.startup import StartUp
from tests.fixtures.bundle import make_bundle, run_captured
from tests.fixtures.procs import children

pytestmark = pytest.mark.root


def _state() -> tuple:
    return sys.getswitchinterval(), gc.isenabled(), gc.get_freeze_count()


@pytest.fixture
def quiet():
    """No warm-up keeper left running by an earlier test (the slot starts
    its own only then); the interpreter's state, and our children, before."""
    warmup.stop()
    assert warmup._keeper is None or warmup._keeper.wait(5)
    before = (_state(), children())
    yield before
    assert (_state(), children()) == before


def test_a_run_with_the_slot_leaves_the_interpreter_as_it_was(tmp_path, quiet):
    bundle = make_bundle(tmp_path, ["sh", "-c", "echo $$"])
    with StartUp() as startup:
        assert gc.isenabled() is False
        assert sys.getswitchinterval() == warmup.SWITCH  # while its keeper runs
        pid1 = startup.preforked_pid
        assert pid1 in children()
        result, out, err = run_captured(bundle, startup=startup)
        # The run is started: done() gave the collector and the interval back.
        assert gc.isenabled() is True
        assert sys.getswitchinterval() == quiet[0][0]
    assert (result.exit_code, out, err, result.pid) == (0, "1\n", "", pid1)


def test_a_slot_left_unused_or_by_an_error_leaves_nothing(quiet):
    with pytest.raises(KeyError):
        with StartUp() as startup:
            pid1 = startup.preforked_pid
            assert pid1 in children()
            raise KeyError("an error before the start (a failed pull...)")
    assert pid1 not in children()
    assert warmup._keeper.wait(5)  # its keeper was stopped


def test_nested_slots_restore_in_turn(tmp_path, quiet):
    bundle = make_bundle(tmp_path, ["true"])
    with StartUp() as outer:
        with StartUp(prefork=False) as inner:
            assert inner.preforked_pid is None
            result, _, _ = run_captured(bundle, startup=outer)
            assert result.exit_code == 0
            assert gc.isenabled() is True  # outer's done() gave it back
        assert gc.isenabled() is False  # what inner found when entered
    # quiet: as before once the outer slot is left


def test_a_slot_with_the_collector_already_off_leaves_it_off(tmp_path, quiet):
    gc.disable()
    try:
        with StartUp(prefork=False) as startup:
            result, _, _ = run_captured(make_bundle(tmp_path, ["true"]), startup=startup)
            assert gc.isenabled() is False
        assert result.exit_code == 0
        assert (gc.isenabled(), gc.get_freeze_count()) == (False, quiet[0][2])
    finally:
        gc.enable()
