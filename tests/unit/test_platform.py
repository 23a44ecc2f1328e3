import pytest

from rs_docker.errors import PlatformNotFound, UsageError
from rs_docker.models import platform as p
from rs_docker.models.digest import Digest
from rs_docker.models.manifest import OCI_MANIFEST, Descriptor


def entry(n, **plat):
    return Descriptor(OCI_MANIFEST, Digest("sha256", str(n) * 64), 100, plat or None)


@pytest.mark.parametrize("text, expected", [
    ("linux/amd64", "linux/amd64"),
    ("linux/x86_64", "linux/amd64"),
    ("linux/arm64", "linux/arm64"),
    ("linux/arm64/v8", "linux/arm64"),
    ("linux/aarch64", "linux/arm64"),
    ("linux/arm", "linux/arm/v7"),
    ("linux/arm/7", "linux/arm/v7"),
    ("linux/armhf", "linux/arm/v7"),
    ("linux/armel", "linux/arm/v6"),
    ("Linux/AMD64", "linux/amd64"),
    ("linux/386", "linux/386"),
])
def test_parse_normalizes_like_containerd(text, expected):
    assert str(p.parse(text)) == expected


def test_parse_os_only_uses_host_architecture():
    assert p.parse("linux") == p.host_platform()


@pytest.mark.parametrize("bad", ["", "/amd64", "linux/", "linux/arm/v7/x", "linux//v7"])
def test_parse_rejects_malformed(bad):
    with pytest.raises(UsageError):
        p.parse(bad)


@pytest.mark.parametrize("machine, expected", [
    ("x86_64", "linux/amd64"), ("aarch64", "linux/arm64"), ("armv7l", "linux/arm/v7"),
    ("armv6l", "linux/arm/v6"), ("i686", "linux/386"),
])
def test_host_platform_from_uname(machine, expected):
    assert str(p.host_platform(machine)) == expected


def test_select_picks_the_matching_platform():
    index = [entry(1, os="linux", architecture="amd64"),
             entry(2, os="linux", architecture="arm64", variant="v8")]
    assert p.select(index, p.parse("linux/arm64")).digest.hex == "2" * 64
    assert p.select(index, p.parse("linux/amd64")).digest.hex == "1" * 64


def test_select_prefers_exact_arm_variant_then_older_compatible():
    index = [entry(1, os="linux", architecture="arm", variant="v6"),
             entry(2, os="linux", architecture="arm", variant="v7")]
    assert p.select(index, p.parse("linux/arm/v7")).digest.hex == "2" * 64
    assert p.select(index[:1], p.parse("linux/arm/v7")).digest.hex == "1" * 64
    with pytest.raises(PlatformNotFound):
        p.select(index[1:], p.parse("linux/arm/v6"))


def test_select_skips_attestations_and_entries_without_platform():
    index = [entry(1), entry(2, os="unknown", architecture="unknown"),
             entry(3, os="linux", architecture="amd64")]
    assert p.select(index, p.parse("linux/amd64")).digest.hex == "3" * 64


def test_select_first_of_equal_matches():
    index = [entry(1, os="linux", architecture="amd64"), entry(2, os="linux", architecture="amd64")]
    assert p.select(index, p.parse("linux/amd64")).digest.hex == "1" * 64


def test_no_match_names_the_platform_and_what_is_offered():
    index = [entry(1, os="linux", architecture="amd64")]
    with pytest.raises(PlatformNotFound, match="no matching manifest for linux/s390x") as e:
        p.select(index, p.parse("linux/s390x"))
    assert "linux/amd64" in e.value.hint


def test_windows_entry_does_not_match_linux():
    index = [entry(1, os="windows", architecture="amd64")]
    with pytest.raises(PlatformNotFound):
        p.select(index, p.parse("linux/amd64"))
