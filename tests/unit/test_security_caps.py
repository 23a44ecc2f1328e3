import pytest

from rs_docker.errors import UsageError
from rs_docker.models.security import (
    ALL_CAPS,
    DEFAULT_CAPS,
    MASKED_PATHS,
    READONLY_PATHS,
    capabilities_for,
    caps_mask,
    masked_paths,
    normalize_caps,
    readonly_paths,
    resolve_caps,
)


def test_default_set_is_dockers_fourteen_with_its_mask():
    assert len(DEFAULT_CAPS) == 14
    assert caps_mask(DEFAULT_CAPS) == 0xA80425FB


@pytest.mark.parametrize("given, expected", [
    (["net_admin"], ["CAP_NET_ADMIN"]),
    (["CAP_SYS_ADMIN"], ["CAP_SYS_ADMIN"]),
    (["Cap_Kill", "all"], ["CAP_KILL", "ALL"]),
])
def test_normalize_adds_prefix_and_upper_cases(given, expected):
    assert normalize_caps(given) == expected


def test_unknown_capability_is_a_one_line_usage_error():
    with pytest.raises(UsageError, match='unknown capability: "CAP_FLY"'):
        normalize_caps(["fly"])


def test_cap_drop_and_add():
    caps = resolve_caps(cap_add=["SYS_ADMIN"], cap_drop=["NET_RAW", "CAP_MKNOD"])
    assert "CAP_SYS_ADMIN" in caps
    assert "CAP_NET_RAW" not in caps and "CAP_MKNOD" not in caps
    assert len(caps) == 13


def test_drop_all_keeps_only_added():
    assert resolve_caps(cap_add=["chown"], cap_drop=["ALL"]) == ["CAP_CHOWN"]


def test_add_all_minus_drops():
    caps = resolve_caps(cap_add=["ALL"], cap_drop=["SYS_ADMIN"])
    assert len(caps) == len(ALL_CAPS) - 1 and "CAP_SYS_ADMIN" not in caps


def test_adding_a_default_twice_does_not_duplicate():
    assert resolve_caps(cap_add=["CHOWN"]).count("CAP_CHOWN") == 1


def test_privileged_and_all_are_limited_to_what_the_host_can_grant():
    host = frozenset(c for c in ALL_CAPS if c != "CAP_SYS_RESOURCE")
    assert "CAP_SYS_RESOURCE" not in resolve_caps(privileged=True, available=host)
    assert "CAP_SYS_RESOURCE" not in resolve_caps(cap_add=["ALL"], available=host)
    assert resolve_caps(cap_add=["SYS_RESOURCE"], available=host) == list(DEFAULT_CAPS)


def test_root_gets_the_set_in_bounding_permitted_effective_never_inheritable():
    caps = capabilities_for()
    assert caps["bounding"] == caps["permitted"] == caps["effective"] == list(DEFAULT_CAPS)
    assert caps["inheritable"] == []  # CVE-2022-24769


def test_non_root_user_keeps_only_the_bounding_set():
    caps = capabilities_for(uid=1000)
    assert caps["bounding"] == list(DEFAULT_CAPS)
    assert caps["effective"] == caps["permitted"] == caps["inheritable"] == []


def test_masked_and_readonly_paths_vanish_when_privileged():
    assert masked_paths() == list(MASKED_PATHS) and "/proc/kcore" in MASKED_PATHS
    assert readonly_paths() == list(READONLY_PATHS) and "/proc/sys" in READONLY_PATHS
    assert masked_paths(privileged=True) == [] == readonly_paths(privileged=True)
