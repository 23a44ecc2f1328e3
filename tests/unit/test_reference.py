import pytest

from rs_docker.errors import InvalidReference
from rs_docker.models.reference import parse

D = "sha256:" + "a" * 64


@pytest.mark.parametrize("text, full, familiar", [
    ("ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"),
    ("ubuntu:22.04", "docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
    ("user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("index.docker.io/user/app", "docker.io/user/app:latest", "user/app:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest", "busybox:latest"),
    ("host:5000/a/b:tag", "host:5000/a/b:tag", "host:5000/a/b:tag"),
    ("127.0.0.1:5000/busybox", "127.0.0.1:5000/busybox:latest", "127.0.0.1:5000/busybox:latest"),
    ("localhost/x", "localhost/x:latest", "localhost/x:latest"),
    ("localhost:5000/x", "localhost:5000/x:latest", "localhost:5000/x:latest"),
    (f"name@{D}", f"docker.io/library/name@{D}", f"name@{D}"),
    (f"name:v1@{D}", f"docker.io/library/name:v1@{D}", f"name:v1@{D}"),
    ("a.b/c__d/e-f.g_h:T_1.2-3", "a.b/c__d/e-f.g_h:T_1.2-3", "a.b/c__d/e-f.g_h:T_1.2-3"),
    ("Foo.com/bar", "Foo.com/bar:latest", "Foo.com/bar:latest"),
])
def test_parse_normalizes_like_docker(text, full, familiar):
    ref = parse(text)
    assert str(ref) == full
    assert ref.familiar == familiar


def test_docker_hub_api_host():
    assert parse("ubuntu").registry_host == "registry-1.docker.io"
    assert parse("host:5000/a").registry_host == "host:5000"


def test_selector_prefers_digest():
    assert parse(f"a:b@{D}").selector == D
    assert parse("a:b").selector == "b"


@pytest.mark.parametrize("text", [
    "", " ubuntu", "UPPER", "a//b", "a/", "-a", "a:", "a:-tag", "a@sha256:abc",
    "a@md5:" + "a" * 32, "a b", "host:port/x", "a/b:" + "t" * 129, "a" * 256,
    "a..b/c", "a/b/:tag", "ubuntu:la test",
])
def test_invalid_references_rejected(text):
    with pytest.raises(InvalidReference) as e:
        parse(text)
    assert "invalid reference format" in str(e.value)


def test_uppercase_repository_message():
    with pytest.raises(InvalidReference, match="must be lowercase"):
        parse("docker.io/Library/Ubuntu")
