import hashlib
import json

import pytest

from rs_docker.errors import UnsupportedManifest
from rs_docker.models.digest import Digest
from rs_docker.models.image_config import chain_ids, parse

A = Digest("sha256", "a" * 64)
B = Digest("sha256", "b" * 64)
C = Digest("sha256", "c" * 64)


def config(**over) -> bytes:
    body = {"architecture": "amd64", "os": "linux", "created": "2024-01-02T03:04:05Z",
            "config": {"Env": ["PATH=/bin"], "Cmd": ["sh"]},
            "rootfs": {"type": "layers", "diff_ids": [str(A), str(B)]},
            "history": [{"created_by": "x"}]}
    body.update(over)
    return json.dumps(body).encode()


def test_parse_reads_platform_diff_ids_and_runtime_config():
    cfg = parse(config(variant="v8", architecture="arm64"))
    assert cfg.diff_ids == (A, B)
    assert cfg.platform == "linux/arm64/v8"
    assert cfg.config["Cmd"] == ["sh"]
    assert cfg.created == "2024-01-02T03:04:05Z"
    assert cfg.raw["history"] == [{"created_by": "x"}]


def test_chain_id_of_first_layer_is_its_diff_id():
    assert chain_ids([A]) == [A]


def test_chain_ids_follow_the_image_spec_formula():
    expected_b = hashlib.sha256(f"{A} {B}".encode()).hexdigest()
    expected_c = hashlib.sha256(f"sha256:{expected_b} {C}".encode()).hexdigest()
    assert [d.hex for d in chain_ids([A, B, C])] == [A.hex, expected_b, expected_c]


def test_chain_ids_differ_by_parent():
    assert chain_ids([A, C])[1] != chain_ids([B, C])[1]


@pytest.mark.parametrize("over, match", [
    ({"rootfs": {"type": "other", "diff_ids": []}}, "rootfs.type"),
    ({"rootfs": {"type": "layers", "diff_ids": "x"}}, "diff_ids"),
    ({"rootfs": {"type": "layers", "diff_ids": ["sha256:../x"]}}, "diff_id"),
    ({"rootfs": None}, "rootfs.type"),
    ({"config": ["no"]}, "wrong type"),
])
def test_invalid_configs_refused(over, match):
    with pytest.raises(UnsupportedManifest, match=match):
        parse(config(**over))


def test_not_json_refused():
    with pytest.raises(UnsupportedManifest, match="not JSON"):
        parse(b"{nope")


@pytest.mark.parametrize("encode", [
    lambda text: text.encode(),
    lambda text: text.encode("utf-8-sig"),       # json.loads takes a BOM in bytes
    lambda text: text.encode("utf-16"),
    lambda text: text.replace("linux", "linux\\ud800").encode(),  # a lone surrogate escape
])
def test_configs_json_reads_are_read(encode):
    """Whatever bytes json.loads accepts as a config, parse accepts alike
    (the fast reader hands the rest to json)."""
    data = encode(config().decode())
    assert parse(data).raw == json.loads(data)


def test_non_json_config_is_refused_in_one_line():
    for data in (b"{", b"\xff\xfe\x00", b"[1] [2]", b""):
        with pytest.raises(UnsupportedManifest, match="^invalid image config: not JSON$"):
            parse(data)
