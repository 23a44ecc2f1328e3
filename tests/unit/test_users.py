"""-u resolution against /etc/passwd and /etc/group (runc/moby GetExecUser)."""

import pytest

from rs_docker.errors import UsageError
from rs_docker.models.users import ExecUser, UserNotFound, resolve_user
from tests.fixtures.busybox import GROUP, PASSWD


def test_default_is_root_with_home_from_passwd():
    assert resolve_user(None, PASSWD, GROUP) == ExecUser(0, 0, (), "/root")


def test_default_without_passwd_is_root_home_slash():
    assert resolve_user("", None, None) == ExecUser(0, 0, (), "/")


def test_name_gets_uid_gid_home_and_member_groups():
    assert resolve_user("app", PASSWD, GROUP) == ExecUser(1000, 1000, (29, 44), "/home/app")


def test_numeric_uid_in_passwd_behaves_like_the_name():
    assert resolve_user("1000", PASSWD, GROUP) == ExecUser(1000, 1000, (29, 44), "/home/app")


def test_numeric_uid_not_in_passwd_is_fine():
    assert resolve_user("4242", PASSWD, GROUP) == ExecUser(4242, 0, (), "/")


def test_explicit_group_sets_gid_and_drops_supplementary_groups():
    assert resolve_user("1000:1000", PASSWD, GROUP) == ExecUser(1000, 1000, (), "/home/app")
    assert resolve_user("app:audio", PASSWD, GROUP) == ExecUser(1000, 29, (), "/home/app")
    assert resolve_user("app:777", PASSWD, GROUP) == ExecUser(1000, 777, (), "/home/app")


def test_unknown_user_name_has_dockers_message():
    with pytest.raises(UserNotFound) as e:
        resolve_user("nosuch", PASSWD, GROUP)
    assert str(e.value) == "unable to find user nosuch: no matching entries in passwd file"
    assert e.value.exit_code == 125


def test_unknown_group_name():
    with pytest.raises(UserNotFound, match="unable to find group nosuch: no matching entries"):
        resolve_user("app:nosuch", PASSWD, GROUP)


def test_name_without_passwd_file_is_not_found():
    with pytest.raises(UserNotFound):
        resolve_user("app", None, None)


def test_malformed_lines_are_skipped():
    passwd = "garbage\nx:y:notanumber:0::/:/bin/sh\napp:x:5:6::/w:/bin/sh\n"
    assert resolve_user("app", passwd, "g:x:7:app,other\nbad\n") == ExecUser(5, 6, (7,), "/w")


def test_out_of_range_uid():
    with pytest.raises(UsageError, match="out of range"):
        resolve_user(str(2**31), PASSWD, GROUP)
