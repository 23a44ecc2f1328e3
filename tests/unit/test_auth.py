import base64
import json
import os

import pytest

from rs_docker.errors import AuthError
from rs_docker.registry import credentials
from rs_docker.registry.auth import (
    Challenge,
    Credentials,
    basic_header,
    parse_challenges,
    parse_token_response,
    pick_challenge,
    pull_scope,
    token_params,
)
from rs_docker.registry.transport import base_url, is_loopback, retry_after, same_origin


def test_bearer_challenge_from_docker_hub():
    h = ('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
         'scope="repository:library/busybox:pull"')
    [c] = parse_challenges(h)
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                        "scope": "repository:library/busybox:pull"}


def test_several_challenges_and_escapes():
    h = 'Basic realm="a \\"quoted\\" realm", Bearer realm="https://t/token", service=reg'
    cs = parse_challenges(h)
    assert [c.scheme for c in cs] == ["basic", "bearer"]
    assert cs[0].realm == 'a "quoted" realm'
    assert cs[1].params["service"] == "reg"
    assert pick_challenge(cs).scheme == "bearer"


def test_scope_with_commas_stays_whole():
    [c] = parse_challenges('Bearer realm="r",scope="repository:a/b:pull,push"')
    assert c.params["scope"] == "repository:a/b:pull,push"


@pytest.mark.parametrize("header", ["", "   ", "Bearer", "Negotiate abc=="])
def test_odd_headers_do_not_crash(header):
    cs = parse_challenges(header)
    assert pick_challenge(cs) is None


def test_bearer_without_realm_is_unusable():
    assert pick_challenge([Challenge("bearer", {"service": "x"})]) is None


def test_scope_and_token_params():
    assert pull_scope("library/busybox") == "repository:library/busybox:pull"
    c = Challenge("bearer", {"realm": "r", "service": "svc"})
    assert token_params(c, "repository:x:pull") == {"service": "svc", "scope": "repository:x:pull"}
    c2 = Challenge("bearer", {"realm": "r", "scope": "repository:y:pull"})
    assert token_params(c2, "repository:x:pull") == {"scope": "repository:y:pull"}


def test_basic_header():
    assert basic_header(Credentials("alice", "s:ecret")) == \
        "Basic " + base64.b64encode(b"alice:s:ecret").decode()


def test_token_response_lifetime():
    t = parse_token_response({"access_token": "abc", "expires_in": 300}, now=1000)
    assert t.value == "abc" and t.valid(now=1200) and not t.valid(now=1300)
    default = parse_token_response({"token": "abc"}, now=0)
    assert default.valid(now=50) and not default.valid(now=61)


@pytest.mark.parametrize("body", [{}, {"token": ""}, [], {"token": 5}])
def test_token_response_without_token(body):
    with pytest.raises(AuthError):
        parse_token_response(body)


# -- ~/.docker/config.json ----------------------------------------------------

def write_config(tmp_path, auths):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"auths": auths, "psFormat": "keep me"}))
    return path


def b64(text):
    return base64.b64encode(text.encode()).decode()


def test_credentials_from_base64_auth(tmp_path):
    path = write_config(tmp_path, {"127.0.0.1:5000": {"auth": b64("alice:pa:ss")}})
    assert credentials.load(path, "127.0.0.1:5000") == Credentials("alice", "pa:ss")
    assert credentials.load(path, "127.0.0.1:5001") is None


def test_credentials_from_username_password_and_url_keys(tmp_path):
    path = write_config(tmp_path, {"https://reg.example.com/v2/": {"username": "bob",
                                                                    "password": "pw"}})
    assert credentials.load(path, "reg.example.com") == Credentials("bob", "pw")


def test_docker_hub_uses_the_index_key(tmp_path):
    path = write_config(tmp_path, {"https://index.docker.io/v1/": {"auth": b64("u:p")}})
    assert credentials.load(path, "docker.io") == Credentials("u", "p")
    assert credentials.config_key("docker.io") == "https://index.docker.io/v1/"


def test_missing_file_means_no_credentials(tmp_path):
    assert credentials.load(tmp_path / "nope.json", "docker.io") is None


@pytest.mark.parametrize("entry", [{"auth": "!!!"}, {"auth": b64("no-colon")}])
def test_broken_auth_entry_is_an_error(tmp_path, entry):
    path = write_config(tmp_path, {"h:1": entry})
    with pytest.raises(AuthError, match="h:1"):
        credentials.load(path, "h:1")


def test_store_and_erase_keep_other_settings(tmp_path):
    path = write_config(tmp_path, {"other:1": {"auth": b64("o:o")}})
    credentials.store(path, "docker.io", Credentials("u", "p"))
    data = json.loads(path.read_text())
    assert data["psFormat"] == "keep me"
    assert data["auths"]["https://index.docker.io/v1/"] == {"auth": b64("u:p")}
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert credentials.erase(path, "docker.io") is True
    assert credentials.erase(path, "docker.io") is False
    assert list(json.loads(path.read_text())["auths"]) == ["other:1"]


# -- transport helpers ---------------------------------------------------------

@pytest.mark.parametrize("host, loop", [
    ("localhost", True), ("localhost:5000", True), ("127.0.0.1:5000", True),
    ("127.1.2.3", True), ("[::1]:5000", True), ("registry.example.com", False),
    ("10.0.0.1:5000", False), ("localhost.example.com", False),
])
def test_loopback_hosts(host, loop):
    assert is_loopback(host) is loop


def test_plain_http_only_for_loopback_and_insecure():
    assert base_url("127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert base_url("reg.example.com") == "https://reg.example.com"
    assert base_url("reg.example.com:5000", {"reg.example.com:5000"}) == \
        "http://reg.example.com:5000"


def test_same_origin():
    assert same_origin("http://a:5000/v2/x", "http://a:5000/")
    assert not same_origin("http://a:5000/v2/x", "http://a:5001/")
    assert not same_origin("https://a/v2", "http://a/v2")
    assert not same_origin("https://a/v2", "https://blobs.a/v2")


def test_retry_after_seconds_and_caps():
    assert retry_after("2", 1.0) == 2.0
    assert retry_after(None, 1.5) == 1.5
    assert retry_after("junk", 1.5) == 1.5
    assert retry_after("99999", 1.0) == 30.0
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1.0) == 0.0
