"""rs_docker.context.Context: a value (rs_docker.values) whose constructor
keeps paths as str and fills Docker's client config by default."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from rs_docker.context import PULL_MIN_RATE, PULL_STALL_SECONDS, Context


def test_paths_are_kept_as_str_and_defaults_filled(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "dc"))
    ctx = Context(root=tmp_path / "root")
    assert ctx.root == f"{tmp_path}/root" and ctx.tmp_dir == f"{tmp_path}/root/tmp"
    assert ctx.docker_config == f"{tmp_path}/dc/config.json"
    assert (ctx.rootless, ctx.debug, ctx.insecure_registries) == (False, False, frozenset())
    assert (ctx.pull_stall_seconds, ctx.pull_min_rate) == (PULL_STALL_SECONDS, PULL_MIN_RATE)
    assert Context("/r", docker_config=Path("/c.json")).docker_config == "/c.json"


def test_equal_by_value_immutable_and_picklable():
    a = Context(root=Path("/r"), docker_config="/c.json")
    b = Context(root="/r", docker_config="/c.json")
    assert a == b and hash(a) == hash(b) and {a: 1}[b] == 1
    assert a != b._replace(debug=True) and b._replace(debug=True).debug is True
    assert pickle.loads(pickle.dumps(a)) == a
    with pytest.raises(AttributeError):
        a.root = "/elsewhere"
    assert repr(a).startswith("Context(root='/r', rootless=False, debug=False, "
                              "docker_config='/c.json', ")
