"""`commit -c` / `import -c`: the Dockerfile instructions Docker accepts
there, applied to an image's runtime config."""

from __future__ import annotations

import pytest

from rs_docker.models.config_changes import InvalidChange, apply


def test_each_instruction():
    base = {"Env": ["PATH=/bin", "A=1"], "Cmd": ["sh"], "WorkingDir": "/srv"}
    out = apply(base, [
        "ENV A=2 B=\"two words\"", "ENV C 3 4", 'CMD ["echo", "hi"]', "LABEL k=v x=\"y z\"",
        "EXPOSE 80 53/udp", "VOLUME /data /logs", 'VOLUME ["/json"]', "USER app",
        "WORKDIR sub", "WORKDIR ../other", "ONBUILD RUN make"])
    assert out["Env"] == ["PATH=/bin", "A=2", "B=two words", "C=3 4"]
    assert out["Cmd"] == ["echo", "hi"]
    assert out["Labels"] == {"k": "v", "x": "y z"}
    assert out["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}}
    assert out["Volumes"] == {"/data": {}, "/logs": {}, "/json": {}}
    assert out["User"] == "app" and out["WorkingDir"] == "/srv/other"
    assert out["OnBuild"] == ["RUN make"]
    assert base["Env"] == ["PATH=/bin", "A=1"]  # the input is left alone


def test_shell_forms():
    out = apply({"Cmd": ["x"]}, ["ENTRYPOINT exec app --flag"])
    assert out["Entrypoint"] == ["/bin/sh", "-c", "exec app --flag"] and out["Cmd"] is None
    assert apply({}, ["cmd echo $HOME"])["Cmd"] == ["/bin/sh", "-c", "echo $HOME"]


@pytest.mark.parametrize("change, message", [
    ("FROM busybox", "FROM is not a valid change command"),
    ("RUN true", "RUN is not a valid change command"),
    ("COPY a b", "COPY is not a valid change command"),
    ("CMD [\"unterminated\"", "invalid JSON"),
    ("USER a b", "exactly one argument"),
    ("ENV =x", "is not KEY=VALUE"),
    ("ONBUILD FROM x", "isn't allowed as an ONBUILD trigger"),
])
def test_refusals(change, message):
    with pytest.raises(InvalidChange, match=message):
        apply({}, [change])
