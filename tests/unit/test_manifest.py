import json

import pytest

from rs_docker.errors import UnsupportedManifest
from rs_docker.models import manifest as m
from rs_docker.models.digest import Digest

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def desc(media_type, digest=D1, size=10, **extra):
    return {"mediaType": media_type, "digest": digest, "size": size, **extra}


def body(**fields) -> bytes:
    return json.dumps({"schemaVersion": 2, **fields}).encode()


def oci_manifest(**extra) -> bytes:
    return body(mediaType=m.OCI_MANIFEST, config=desc(m.OCI_CONFIG),
                layers=[desc("application/vnd.oci.image.layer.v1.tar+gzip", D2, 99)], **extra)


def test_oci_manifest_parses_config_and_layers_in_order():
    man = m.parse(oci_manifest())
    assert isinstance(man, m.Manifest)
    assert man.config.digest == Digest.parse(D1)
    assert [(layer.digest, layer.size, layer.compression) for layer in man.layers] == \
        [(Digest.parse(D2), 99, "gzip")]


def test_media_type_from_header_when_body_has_none():
    data = body(config=desc(m.DOCKER_CONFIG), layers=[])
    man = m.parse(data, content_type=m.DOCKER_MANIFEST + "; charset=utf-8")
    assert man.media_type == m.DOCKER_MANIFEST


def test_media_type_required_somewhere():
    data = body(config=desc(m.OCI_CONFIG), layers=[])
    with pytest.raises(UnsupportedManifest, match="no mediaType"):
        m.parse(data, content_type="application/json")


def test_index_parses_entries_with_platforms():
    data = body(mediaType=m.OCI_INDEX, manifests=[
        desc(m.OCI_MANIFEST, platform={"os": "linux", "architecture": "arm64"})])
    idx = m.parse(data)
    assert isinstance(idx, m.Index)
    assert idx.manifests[0].platform == {"os": "linux", "architecture": "arm64"}


@pytest.mark.parametrize("media_type", [m.OCI_INDEX, m.OCI_MANIFEST])
def test_body_with_both_manifests_and_layers_is_refused(media_type):
    data = body(mediaType=media_type, manifests=[], config=desc(m.OCI_CONFIG), layers=[])
    with pytest.raises(UnsupportedManifest, match="ambiguous"):
        m.parse(data)


def test_index_type_with_a_manifest_body_is_refused():
    data = body(mediaType=m.OCI_INDEX, config=desc(m.OCI_CONFIG), layers=[])
    with pytest.raises(UnsupportedManifest):
        m.parse(data)


@pytest.mark.parametrize("data, ctype", [
    (json.dumps({"schemaVersion": 1, "name": "x", "fsLayers": []}).encode(), None),
    (json.dumps({"schemaVersion": 1}).encode(), m.SCHEMA1[1]),
])
def test_schema1_refused_with_a_clear_message(data, ctype):
    with pytest.raises(UnsupportedManifest, match="schema1"):
        m.parse(data, ctype)


@pytest.mark.parametrize("bad", [
    {"mediaType": m.OCI_CONFIG, "digest": "sha256:xyz", "size": 1},
    {"mediaType": m.OCI_CONFIG, "digest": "md5:" + "a" * 32, "size": 1},
    {"mediaType": m.OCI_CONFIG, "digest": D1, "size": -1},
    {"mediaType": m.OCI_CONFIG, "digest": D1, "size": True},
    {"mediaType": m.OCI_CONFIG, "digest": D1, "size": "10"},
    {"digest": D1, "size": 1},
    "not a descriptor",
])
def test_invalid_descriptors_are_refused(bad):
    data = body(mediaType=m.OCI_MANIFEST, config=bad, layers=[])
    with pytest.raises(UnsupportedManifest, match="config"):
        m.parse(data)


def test_path_traversal_digest_is_refused():
    data = body(mediaType=m.OCI_MANIFEST, config=desc(m.OCI_CONFIG),
                layers=[desc(m.OCI_CONFIG, digest="sha256:../../etc/passwd")])
    with pytest.raises(UnsupportedManifest, match=r"layers\[0\]"):
        m.parse(data)


def test_oversized_manifest_refused():
    with pytest.raises(UnsupportedManifest, match="too large"):
        m.parse(b" " * (m.MAX_MANIFEST_SIZE + 1))


@pytest.mark.parametrize("data", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_non_object_refused(data):
    with pytest.raises(UnsupportedManifest, match="invalid manifest"):
        m.parse(data)


def test_unknown_media_type_refused():
    with pytest.raises(UnsupportedManifest, match="unsupported manifest media type"):
        m.parse(body(mediaType="application/vnd.example+json", layers=[]))


def test_layer_compression_of_unknown_type_is_an_error():
    d = m.parse_descriptor(desc("application/x-tar"), "layers[0]")
    with pytest.raises(UnsupportedManifest, match="unsupported layer media type"):
        _ = d.compression


def test_foreign_layer_urls_are_kept_as_data():
    d = m.parse_descriptor(desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
                                urls=["https://example.com/layer"]), "layers[0]")
    assert d.urls == ("https://example.com/layer",)
    assert d.compression == "gzip"


def test_accept_header_names_every_supported_type():
    for t in (m.OCI_INDEX, m.OCI_MANIFEST, m.DOCKER_LIST, m.DOCKER_MANIFEST):
        assert t in m.ACCEPT


def test_manifest_by_digest_must_match_the_digest():
    from rs_docker.errors import DigestMismatch
    from rs_docker.registry.client import _verify_manifest

    data = oci_manifest()
    good = Digest.sha256_of(data)
    assert _verify_manifest(data, str(good), None, "x") == good
    with pytest.raises(DigestMismatch):
        _verify_manifest(data + b" ", str(good), None, "x")
    with pytest.raises(DigestMismatch, match="Docker-Content-Digest"):
        _verify_manifest(data, "latest", "sha256:" + "0" * 64, "x")
    assert _verify_manifest(data, "latest", str(good), "x") == good
