"""Environment rules: -e, --env-file, image env, Docker's defaults."""

import pytest

from rs_docker.errors import UsageError
from rs_docker.models.env import (
    DEFAULT_PATH,
    container_env,
    parse_env_file,
    replace_or_append,
    resolve_cli_env,
    resolve_flag,
)

HOST = {"FROM_HOST": "h", "EMPTY": ""}


def test_flag_with_value_is_kept_verbatim():
    assert resolve_flag("A=b=c", HOST) == "A=b=c"
    assert resolve_flag("A=", HOST) == "A="


def test_bare_flag_takes_host_value_or_stays_bare():
    assert resolve_flag("FROM_HOST", HOST) == "FROM_HOST=h"
    assert resolve_flag("EMPTY", HOST) == "EMPTY="
    assert resolve_flag("ABSENT", HOST) == "ABSENT"


def test_flag_without_name_is_refused():
    with pytest.raises(UsageError):
        resolve_flag("=x", HOST)


def test_env_file_comments_blank_literal_values_and_host_lookup():
    text = "\ufeff# comment\n\n  A=1\nB=\"quoted\" # not a comment\nFROM_HOST\nABSENT\nC=\n"
    assert parse_env_file(text, HOST) == ["A=1", 'B="quoted" # not a comment',
                                          "FROM_HOST=h", "C="]


def test_env_file_rejects_whitespace_in_name():
    with pytest.raises(UsageError, match="contains whitespaces"):
        parse_env_file("MY VAR=1\n", HOST)


def test_flags_come_after_env_files():
    assert resolve_cli_env(["A=file"], ["A=flag", "ABSENT"], HOST) == ["A=file", "A=flag",
                                                                       "ABSENT"]


def test_replace_or_append_and_bare_key_unsets():
    assert replace_or_append(["A=1", "B=2"], ["B=3", "C=4", "A"]) == ["B=3", "C=4"]


def test_defaults_when_image_has_no_path():
    env = container_env([], [], "abc123", tty=False, home="/root")
    assert env == [f"PATH={DEFAULT_PATH}", "HOSTNAME=abc123", "HOME=/root"]


def test_image_path_and_user_overrides():
    image = ["PATH=/custom", "GREETING=image", "KEEP=1"]
    env = container_env(image, ["GREETING=user", "HOME=/h"], "h", tty=True, home="/root")
    assert env == ["PATH=/custom", "HOSTNAME=h", "TERM=xterm", "GREETING=user", "HOME=/h",
                   "KEEP=1"]


def test_bare_user_key_hides_image_value():
    env = container_env(["SECRET=image", "KEEP=1"], ["SECRET"], "h", tty=False, home="/")
    assert not any(e.startswith("SECRET") for e in env)
    assert "KEEP=1" in env
