"""Credentials in Docker's client config (~/.docker/config.json `auths`),
read and written the way the docker CLI does (cli/config/configfile).

Only inline credentials are supported: `auth` (base64 "user:password") or
`username`/`password`, and `identitytoken`. Credential helpers (`credsStore`,
`credHelpers`) are not run.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from pathlib import Path

from rs_docker.errors import AuthError
from rs_docker.registry.auth import Credentials

# The key Docker uses for Docker Hub in `auths` (registry.IndexServer).
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
_HUB_NAMES = {"docker.io", "index.docker.io", "registry-1.docker.io"}


def config_key(domain: str) -> str:
    """The `auths` key docker login writes for a registry domain."""
    return DOCKER_HUB_KEY if domain in _HUB_NAMES else domain


def _hostname(key: str) -> str:
    # Docker's ConvertToHostname: drop the scheme and any path.
    for scheme in ("http://", "https://"):
        if key.startswith(scheme):
            key = key[len(scheme):]
    return key.split("/", 1)[0]


def _read(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise AuthError(f"cannot read docker config {path}: {e}") from None
    if not isinstance(data, dict):
        raise AuthError(f"cannot read docker config {path}: not a JSON object")
    return data


def load(path: Path, domain: str) -> Credentials | None:
    """Credentials for `domain` (e.g. "docker.io", "127.0.0.1:5000") from the
    config file at `path`, or None. Raises AuthError for an unreadable entry."""
    auths = _read(path).get("auths") or {}
    if not isinstance(auths, dict):
        return None
    wanted = _hostname(config_key(domain))
    hub = domain in _HUB_NAMES
    for key, entry in auths.items():
        host = _hostname(key)
        if (host == wanted or (hub and host in _HUB_NAMES)) and isinstance(entry, dict):
            creds = _decode(entry, key)
            if creds:
                return creds
    return None


def _decode(entry: dict, key: str) -> Credentials | None:
    identity = entry.get("identitytoken") or None
    if entry.get("auth"):
        try:
            raw = base64.b64decode(entry["auth"], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, TypeError):
            raise AuthError(f"invalid auth entry for {key} in docker config") from None
        user, sep, password = raw.partition(":")
        if not sep:
            raise AuthError(f"invalid auth entry for {key} in docker config")
        return Credentials(user, password, identity)
    if entry.get("username"):
        return Credentials(entry["username"], entry.get("password") or "", identity)
    return None


def store(path: Path, domain: str, creds: Credentials) -> None:
    """Save credentials for `domain` like `docker login` (base64 `auth`),
    keeping every other key; the file is replaced atomically, mode 0600."""
    data = _read(path)
    auths = data.setdefault("auths", {})
    raw = f"{creds.username}:{creds.password}".encode()
    auths[config_key(domain)] = {"auth": base64.b64encode(raw).decode()}
    _write(Path(path), data)


def erase(path: Path, domain: str) -> bool:
    """Remove the credentials of `domain`; True if there were any."""
    data = _read(path)
    auths = data.get("auths") or {}
    wanted = _hostname(config_key(domain))
    keys = [k for k in auths if _hostname(k) == wanted]
    for k in keys:
        del auths[k]
    if keys:
        _write(Path(path), data)
    return bool(keys)


def _write(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".config.json.")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent="\t")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise

