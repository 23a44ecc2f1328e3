"""`commit -c` / `import -c`: Dockerfile instructions applied to an image's
runtime config (moby builder/dockerfile's "changes" dispatchers, the set
daemon/commit.go accepts: CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD,
USER, VOLUME, WORKDIR). Pure: a config dict in, a new one out.
"""

from __future__ import annotations

import json
import posixpath
import shlex

from rs_docker.errors import RsDockerError


class InvalidChange(RsDockerError):
    """A `-c` change Docker's daemon refuses (exit 1, as a failed request)."""

ALLOWED = ("CMD", "ENTRYPOINT", "ENV", "EXPOSE", "LABEL", "ONBUILD", "USER", "VOLUME", "WORKDIR")


def apply(config: dict, changes: list[str] | tuple[str, ...]) -> dict:
    """`config` (the image's "config" object) with every change applied in
    order. UsageError for an instruction not allowed or malformed."""
    out = json.loads(json.dumps(config or {}))
    for change in changes:
        _apply_one(out, change)
    return out


def _apply_one(config: dict, change: str) -> None:
    text = change.strip()
    word, _, rest = text.partition(" ")
    if not word:
        return
    instruction = word.upper()
    rest = rest.strip()
    if instruction not in ALLOWED:
        raise InvalidChange(f"{word} is not a valid change command")
    if instruction in ("CMD", "ENTRYPOINT"):
        key = "Cmd" if instruction == "CMD" else "Entrypoint"
        config[key] = _command(rest)
        if instruction == "ENTRYPOINT" and not _is_json_list(rest):
            config["Cmd"] = None  # the shell form of ENTRYPOINT drops CMD (Docker)
    elif instruction == "ENV":
        env = list(config.get("Env") or [])
        for key, value in _pairs(rest, instruction):
            env = [e for e in env if e.split("=", 1)[0] != key] + [f"{key}={value}"]
        config["Env"] = env
    elif instruction == "LABEL":
        labels = dict(config.get("Labels") or {})
        labels.update(_pairs(rest, instruction))
        config["Labels"] = labels
    elif instruction == "EXPOSE":
        ports = dict(config.get("ExposedPorts") or {})
        for port in _words(rest, instruction):
            ports[port if "/" in port else f"{port}/tcp"] = {}
        config["ExposedPorts"] = ports
    elif instruction == "VOLUME":
        volumes = dict(config.get("Volumes") or {})
        for v in (_json_list(rest) if _is_json_list(rest) else _words(rest, instruction)):
            volumes[v] = {}
        config["Volumes"] = volumes
    elif instruction == "USER":
        config["User"] = _one(rest, instruction)
    elif instruction == "WORKDIR":
        path = _one(rest, instruction)
        config["WorkingDir"] = posixpath.normpath(
            posixpath.join(config.get("WorkingDir") or "/", path))
    elif instruction == "ONBUILD":
        trigger = rest.split(None, 1)[0].upper() if rest else ""
        if trigger in ("", "ONBUILD", "FROM", "MAINTAINER"):
            raise InvalidChange(f"{trigger or 'ONBUILD'} isn't allowed as an ONBUILD trigger")
        config["OnBuild"] = list(config.get("OnBuild") or []) + [rest]


def _is_json_list(text: str) -> bool:
    return text.startswith("[")


def _json_list(text: str) -> list[str]:
    try:
        value = json.loads(text)
    except ValueError:
        raise InvalidChange(f"invalid JSON in change: {text}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidChange(f"invalid JSON string list in change: {text}")
    return value


def _command(text: str) -> list[str]:
    """The exec form (a JSON list) as is; the shell form through /bin/sh -c."""
    if _is_json_list(text):
        return _json_list(text)
    if not text:
        raise InvalidChange("a CMD or ENTRYPOINT change needs a command")
    return ["/bin/sh", "-c", text]


def _words(text: str, instruction: str) -> list[str]:
    try:
        words = shlex.split(text)
    except ValueError as e:
        raise InvalidChange(f"{instruction}: {e}") from None
    if not words:
        raise InvalidChange(f"{instruction} requires at least one argument")
    return words


def _one(text: str, instruction: str) -> str:
    words = _words(text, instruction)
    if len(words) != 1:
        raise InvalidChange(f"{instruction} requires exactly one argument")
    return words[0]


def _pairs(text: str, instruction: str) -> list[tuple[str, str]]:
    """KEY=VALUE... (values may be quoted), or the old `KEY VALUE` form."""
    words = _words(text, instruction)
    if "=" not in words[0]:
        key, _, value = text.partition(" ")
        if not value.strip():
            raise InvalidChange(f"{instruction} {key} needs a value")
        return [(key, value.strip())]
    pairs = []
    for w in words:
        key, eq, value = w.partition("=")
        if not eq or not key:
            raise InvalidChange(f"{instruction}: {w!r} is not KEY=VALUE")
        pairs.append((key, value))
    return pairs
