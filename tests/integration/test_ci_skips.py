"""CI's rule on skips (tests/conftest.py, .ci/run): with
RSD_FAIL_ON_UNEXPECTED_SKIP=1 a session whose tests all pass still fails
when a skip is not one this machine kind expects, and names it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import EXPECTED_SKIPS, STRICT_SKIPS_VAR

REPO = Path(__file__).parents[2]
TESTS = f"""
import pytest

def test_expected():
    pytest.skip({EXPECTED_SKIPS[0]!r})

def test_passes():
    pass
"""


def session(tmp_path: Path, extra: str, strict: bool) -> subprocess.CompletedProcess:
    """pytest on one file of tests, under this suite's conftest as a plugin."""
    (tmp_path / "test_some.py").write_text(TESTS + extra)
    env = {k: v for k, v in os.environ.items() if k != STRICT_SKIPS_VAR}
    if strict:
        env[STRICT_SKIPS_VAR] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest",
                           "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
                           str(tmp_path / "test_some.py")],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


UNEXPECTED = """
def test_unexpected():
    pytest.skip("some tool not installed")
"""


def test_an_unexpected_skip_fails_the_session_and_is_named(tmp_path):
    proc = session(tmp_path, UNEXPECTED, strict=True)
    assert proc.returncode == 1, proc.stdout
    lines = proc.stdout.splitlines()
    assert "test_some.py::test_unexpected: some tool not installed" in lines
    assert "1 skips not in tests/conftest.py EXPECTED_SKIPS: the session fails" in lines
    assert not [line for line in lines if "test_expected:" in line]


def test_expected_skips_pass(tmp_path):
    proc = session(tmp_path, "", strict=True)
    assert proc.returncode == 0, proc.stdout
    assert "unexpected skips" not in proc.stdout


def test_outside_ci_a_skip_is_only_reported(tmp_path):
    proc = session(tmp_path, UNEXPECTED, strict=False)
    assert proc.returncode == 0, proc.stdout
    assert "unexpected skips" not in proc.stdout


def test_a_module_skipped_whole_counts_too(tmp_path):
    (tmp_path / "test_whole.py").write_text(
        "import pytest\npytest.skip('no such thing here', allow_module_level=True)\n")
    proc = session(tmp_path, "", strict=True)
    assert proc.returncode == 0, proc.stdout   # test_some.py alone was run
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest",
                           "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
                          capture_output=True, text=True, cwd=REPO, timeout=120,
                          env={**os.environ, STRICT_SKIPS_VAR: "1"})
    assert proc.returncode == 1, proc.stdout
    assert "test_whole.py: no such thing here" in proc.stdout.splitlines()
