"""The registry client against the real registry: token auth (anonymous,
docker config credentials, bad password, cache, renewal), retries, redirects,
an unreachable registry."""

from __future__ import annotations

import time

import pytest
import requests

from rs_docker.context import Context
from rs_docker.errors import AuthError, RegistryError, RegistryUnreachable
from rs_docker.image.pull import pull
from rs_docker.registry.auth import Token, pull_scope
from rs_docker.registry.client import RegistryClient
from rs_docker.store.images import ImageIndex
from tests.conftest import ALICE
from tests.fixtures.images import ImageSpec, busybox_layer, push
from tests.fixtures.registry import free_port
from tests.integration.fault_proxy import FaultProxy


@pytest.fixture(scope="module")
def auth_images(token_pusher):
    spec = ImageSpec([busybox_layer()])
    return {name: push(token_pusher, f"{name}/busybox", "latest", spec)
            for name in ("public", "private")}


@pytest.fixture
def ctx(store_root, docker_config):
    return Context(root=store_root, docker_config=docker_config.file)


def test_anonymous_pull_of_a_public_repository(ctx, token_registry, auth_images):
    record = pull(ctx, auth_images["public"].ref)
    assert str(record.manifest) == auth_images["public"].manifest_digest


def test_private_repository_needs_credentials(ctx, token_registry, auth_images):
    with pytest.raises(AuthError, match=f"pull access denied for {token_registry.host}"
                                        f"/private/busybox") as e:
        pull(ctx, auth_images["private"].ref)
    assert "login" in e.value.hint
    assert ImageIndex(ctx).all() == []


def test_private_repository_with_docker_config_credentials(ctx, docker_config, token_registry,
                                                           auth_images):
    docker_config.write_auth(token_registry.host, *ALICE)
    record = pull(ctx, auth_images["private"].ref)
    assert str(record.manifest) == auth_images["private"].manifest_digest


def test_bad_password_is_an_auth_error(ctx, docker_config, token_registry, auth_images):
    docker_config.write_auth(token_registry.host, "alice", "wrong")
    with pytest.raises(AuthError, match="incorrect username or password"):
        pull(ctx, auth_images["private"].ref)


def test_one_token_serves_a_whole_pull(ctx, token_registry, auth_images):
    ts = token_registry.token_server
    ts.reset()
    pull(ctx, auth_images["public"].ref)
    assert ts.requests == 1
    assert ts.log[0].scopes == [pull_scope("public/busybox")]


def manifest(client, image):
    return client.get_manifest(image.repo, image.tag)


def test_expired_token_is_renewed_before_use(ctx, token_registry, auth_images):
    ts = token_registry.token_server
    with ts.lifetime(2), RegistryClient(ctx, token_registry.host) as client:
        ts.reset()
        manifest(client, auth_images["public"])
        manifest(client, auth_images["public"])
        assert ts.requests == 1
        time.sleep(2.2)
        manifest(client, auth_images["public"])
        assert ts.requests == 2


def test_token_rejected_by_the_registry_is_renewed_on_401(ctx, token_registry, auth_images):
    ts = token_registry.token_server
    scope = pull_scope("public/busybox")
    with ts.lifetime(2), RegistryClient(ctx, token_registry.host) as client:
        ts.reset()
        manifest(client, auth_images["public"])
        # A clock that runs slow: our cache still trusts the token, the registry does not.
        stale = client._tokens[scope]
        client._tokens[scope] = Token(stale.value, time.monotonic() + 3600)
        time.sleep(2.5)
        fetched = manifest(client, auth_images["public"])
        assert str(fetched.digest) == auth_images["public"].manifest_digest
        assert ts.requests == 2
        assert client._tokens[scope].value != stale.value


def test_blob_redirect_does_not_carry_the_registry_token(ctx, token_registry, auth_images):
    """Registries redirect blobs to storage (S3, a CDN): the registry's
    Authorization must not follow to another host."""
    ts = token_registry.token_server
    grant = requests.get(ts.realm, params={"service": ts.service,
                                           "scope": pull_scope("public/busybox")},
                         auth=ALICE, timeout=10).json()["token"]
    with FaultProxy(token_registry.host, add_authorization=f"Bearer {grant}") as storage, \
            FaultProxy(token_registry.host,
                       redirect_blobs_to=f"http://{storage.host}") as front:
        image = auth_images["public"]
        pull(ctx, image.ref.replace(token_registry.host, front.host))
        front_blobs = [s for s in front.seen if "/blobs/" in s.path]
        storage_blobs = [s for s in storage.seen if "/blobs/" in s.path]
    assert front_blobs and all(s.authorization.startswith("Bearer ") for s in front_blobs)
    assert len(storage_blobs) == len(front_blobs)
    assert all(s.authorization is None for s in storage_blobs)


def test_5xx_and_429_are_retried_honouring_retry_after(ctx, registry, images):
    fail = {"/manifests/": [(503, {}), (429, {"Retry-After": "1"})]}
    with FaultProxy(registry.host, fail=fail) as proxy:
        start = time.monotonic()
        with RegistryClient(ctx, proxy.host) as client:
            fetched = client.get_manifest("busybox", "latest")
        elapsed = time.monotonic() - start
        gets = [s for s in proxy.seen if "/manifests/" in s.path]
    assert str(fetched.digest) == images.busybox.manifest_digest
    assert len(gets) == 3
    assert elapsed >= 1.0


def test_persistent_5xx_gives_up(ctx, registry, images):
    fail = {"/manifests/": [(500, {})] * 10}
    with FaultProxy(registry.host, fail=fail) as proxy, \
            RegistryClient(ctx, proxy.host) as client, \
            pytest.raises(RegistryError) as e:
        client.get_manifest("busybox", "latest")
    assert str(e.value) == f"manifest {proxy.host}/busybox:latest: registry answered 500"


def test_unreachable_registry_fails_fast(ctx):
    host = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(RegistryUnreachable, match=f"cannot reach http://{host}/v2/: "
                                                  f"connection refused"):
        pull(ctx, f"{host}/busybox")
    # A safety net, not a speed bound: a refused connection is not retried
    # with back-off, which would take far longer.
    assert time.monotonic() - start < 20
