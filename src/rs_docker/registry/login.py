"""`login` / `logout`: check credentials against a registry, then save or
forget them in the docker config file, as `docker login` does."""

from __future__ import annotations

from pathlib import Path

from rs_docker.errors import AuthError, UsageError
from rs_docker.registry import credentials
from rs_docker.registry.auth import Credentials


def server_domain(server: str | None) -> str:
    """"https://reg:5000/v2/" -> "reg:5000"; nothing (or a Docker Hub name)
    -> "docker.io"."""
    if not server:
        return "docker.io"
    host = server.split("://", 1)[-1].split("/", 1)[0]
    if not host:
        raise UsageError(f"invalid registry address {server!r}")
    return "docker.io" if host in ("index.docker.io", "registry-1.docker.io") else host


def login(ctx, server: str | None, username: str, password: str) -> str:
    """Authenticate to the registry with these credentials (GET /v2/ with
    Basic, or a token request for a Bearer registry), then store them.
    Returns the domain. Raises AuthError when the registry refuses them."""
    from rs_docker.registry.client import RegistryClient

    if not username or not password:
        raise UsageError("login needs a username and a password")
    domain = server_domain(server)
    creds = Credentials(username, password)
    with RegistryClient(ctx, domain) as client:
        client.check_credentials(creds)
    credentials.store(Path(ctx.docker_config), domain, creds)
    return domain


def logout(ctx, server: str | None) -> str:
    """Forget the credentials of a registry; returns the config key removed."""
    domain = server_domain(server)
    if not credentials.erase(Path(ctx.docker_config), domain):
        raise AuthError(f"not logged in to {credentials.config_key(domain)}")
    return credentials.config_key(domain)
