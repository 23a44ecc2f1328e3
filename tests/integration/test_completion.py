"""`rs-docker completion bash|zsh|fish`: the bash script, loaded in a real
bash, completes commands, flags and the store's names (COMP_WORDS /
COMP_CWORD set as bash sets them, the function the script registers
called as bash calls it)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.conftest import module_rsd_removing
from tests.fixtures.cli import ok

pytestmark = pytest.mark.root


@pytest.fixture(scope="module")
def rs(images, tmp_path_factory):
    runner = module_rsd_removing(tmp_path_factory, "completion", images.busybox.ref)
    rsd = next(runner)
    ok(rsd("create", "--name", "webapp", images.busybox.ref, "true"))
    ok(rsd("create", "--name", "worker", images.busybox.ref, "true"))
    yield rsd
    next(runner, None)


def complete(rs, *words: str) -> list[str]:
    """COMPREPLY after bash completes `rs-docker --root R WORDS` (the last
    word the one being typed)."""
    script = ok(rs("completion", "bash"))
    line = [str(rs.script), "--root", str(rs.root), *words]
    quoted = " ".join("'" + w.replace("'", "'\\''") + "'" for w in line)
    program = (f"{script}\n"
               f"COMP_WORDS=({quoted}); COMP_CWORD={len(line) - 1}\n"
               "spec=$(complete -p rs-docker); fn=${spec#*-F }; fn=${fn%% *}\n"
               "$fn rs-docker; printf '%s\\n' \"${COMPREPLY[@]}\"\n")
    proc = subprocess.run([shutil.which("bash"), "--norc", "-c", program], capture_output=True,
                          text=True, timeout=60, env=rs.base_env)
    assert proc.returncode == 0, proc.stderr
    return [w for w in proc.stdout.split("\n") if w]


def test_bash_completes_commands_and_subcommands(rs):
    assert {"start", "stop"} <= set(complete(rs, "st"))
    assert all(w.startswith("st") for w in complete(rs, "st"))
    assert "ls" in complete(rs, "container", "l")
    assert complete(rs, "completion", "") == ["bash", "zsh", "fish"]
    assert "__complete" not in complete(rs, "")


def test_bash_completes_flags(rs):
    assert complete(rs, "ps", "--fi") == ["--filter"]
    assert {"--rm", "--name", "--network"} <= set(complete(rs, "run", "--"))
    assert "--root" in complete(rs, "--r")


def test_bash_completes_names_from_the_store(rs, busybox):
    assert complete(rs, "stop", "w") == ["webapp", "worker"]
    assert complete(rs, "rm", "-f", "webapp", "wo") == ["worker"]
    assert complete(rs, "container", "start", "web") == ["webapp"]
    repo = busybox.rsplit(":", 1)[0]
    assert complete(rs, "run", "--rm", repo[:5]) == [busybox]
    assert complete(rs, "run", "--network", "h") == ["host"]
    assert complete(rs, "rmi", "") == [busybox]
    assert complete(rs, "inspect", "w") == ["webapp", "worker"]


def test_zsh_and_fish_scripts_call_the_same_completer(rs):
    for shell in ("zsh", "fish"):
        assert "__complete" in ok(rs("completion", shell))
    proc = rs("completion", "tcsh")
    assert proc.returncode == 125 and "tcsh" in proc.stderr
