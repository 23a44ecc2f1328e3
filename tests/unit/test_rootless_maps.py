"""runtime.rootless pure parts: subid files, id maps, host checks on a tmp tree."""

from __future__ import annotations

import pytest

from rs_docker.errors import RuntimeFailure, UsageError
from rs_docker.runtime import rootless

SUBUID = "root:100000:65536\nalice:200000:65536\n1001:300000:1000\nbad:x:1\nalice:5:0\n"


def test_parse_subid_by_name_and_uid():
    assert rootless.parse_subid(SUBUID, "alice", 1001) == [(200000, 65536), (300000, 1000)]
    assert rootless.parse_subid(SUBUID, "bob", 1002) == []


def test_id_mappings_put_the_user_at_zero_and_ranges_after():
    assert rootless.id_mappings(1001, [(200000, 10), (300000, 5)]) == [
        {"containerID": 0, "hostID": 1001, "size": 1},
        {"containerID": 1, "hostID": 200000, "size": 10},
        {"containerID": 11, "hostID": 300000, "size": 5}]


def test_user_mappings_without_ranges_is_the_user_alone(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("")
    uids, gids = rootless.user_mappings(4242, 4343, str(empty), str(empty))
    assert uids == [{"containerID": 0, "hostID": 4242, "size": 1}]
    assert gids == [{"containerID": 0, "hostID": 4343, "size": 1}]


def test_unmapped_container_user_is_refused():
    maps = rootless.id_mappings(1001, [])
    rootless.check_mapped(0, 0, maps, maps)
    with pytest.raises(UsageError, match="container uid 1000 is not mapped"):
        rootless.check_mapped(1000, 0, maps, maps)


@pytest.mark.parametrize("name,value", [("kernel/unprivileged_userns_clone", "0"),
                                        ("user/max_user_namespaces", "0")])
def test_disabled_user_namespaces_are_one_line(tmp_path, name, value):
    (tmp_path / name).parent.mkdir(parents=True)
    (tmp_path / name).write_text(value + "\n")
    with pytest.raises(RuntimeFailure, match="user namespaces are disabled") as e:
        rootless.check_userns_allowed(str(tmp_path))
    assert "\n" not in str(e.value) and e.value.exit_code == 125


def test_enabled_user_namespaces_pass(tmp_path):
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "max_user_namespaces").write_text("15000\n")
    rootless.check_userns_allowed(str(tmp_path))
