"""`version` and `info` through the CLI, as tools that detect Docker read
them: Docker's text sections, `--format json`, `{{json .}}` and field
templates."""

from __future__ import annotations

import json
import os

import pytest

from tests.fixtures.cli import ok

pytestmark = pytest.mark.root


def test_version_template_and_json(rsd):
    from importlib.metadata import version

    assert ok(rsd("version", "--format", "{{.Server.Version}}")).strip() == version("rs-docker")
    got = json.loads(ok(rsd("version", "--format", "json")))
    assert got["Client"]["ApiVersion"] == got["Server"]["ApiVersion"] == "1.43"
    assert got["Server"]["Components"][0]["Name"] == "Engine"
    assert got["Server"]["KernelVersion"] == os.uname().release
    assert got["Client"]["Os"] == "linux" and got["Client"]["GoVersion"] == ""
    assert json.loads(ok(rsd("version", "--format", "{{json .}}"))) == got


def test_version_text_has_both_sections(rsd):
    out = ok(rsd("version"))
    assert out.startswith("Client:\n Version:")
    assert "\nServer: " in out and "\n Engine:\n" in out
    assert " API version:      1.43 (minimum version 1.12)" in out


def test_info_counts_containers_and_images(rsd, busybox):
    ok(rsd("run", "--network", "none", "--name", "stopped", busybox, "true"))
    ok(rsd("run", "--network", "none", "-d", "--name", "up", busybox, "sleep", "300"))
    ok(rsd("run", "--network", "none", "-d", "--name", "frozen", busybox, "sleep", "300"))
    ok(rsd("pause", "frozen"))
    try:
        got = json.loads(ok(rsd("info", "--format", "{{json .}}")))
        assert (got["Containers"], got["ContainersRunning"], got["ContainersPaused"],
                got["ContainersStopped"]) == (3, 1, 1, 1)
        assert got["Images"] == 1
        assert got["Driver"] in ("overlay2", "fuse-overlayfs", "vfs")
        assert got["CgroupDriver"] == "cgroupfs" and got["CgroupVersion"] in ("1", "2")
        assert got["NCPU"] == os.cpu_count() and got["MemTotal"] > 0
        assert got["DockerRootDir"] == str(rsd.root)
        assert "name=seccomp,profile=builtin" in got["SecurityOptions"]
        assert json.loads(ok(rsd("info", "--format", "json"))).keys() == got.keys()
        assert ok(rsd("info", "--format", "{{.ContainersPaused}}")).strip() == "1"
        out = ok(rsd("info"))
        assert " Containers: 3\n  Running: 1\n  Paused: 1\n  Stopped: 1\n Images: 1\n" in out
        assert f" Kernel Version: {os.uname().release}\n" in out
    finally:
        rsd("rm", "-f", "up", "frozen")
