"""The local image a command names, and the one a container is made from:
found in the store per a pull policy (`run --pull`), pulled when needed.

On every `run`'s path, so it imports only the store's index and the
models: image.pull (threads, the registry client) is imported only when a
pull happens.
"""

from __future__ import annotations

from rs_docker.errors import ImageNotFound, RsDockerError, UsageError
from rs_docker.models.run_options import PULL_POLICIES


def no_such_image(name: str) -> ImageNotFound:
    """The error for an image the store does not have (Docker's words)."""
    return ImageNotFound(f"no such image: {name}")


def find(ctx, name: str) -> list:
    """The records `name` (reference or image ID prefix) names; ImageNotFound if none."""
    from rs_docker.store.images import ImageIndex

    records = ImageIndex(ctx).find(name)
    if not records:
        raise no_such_image(name)
    return records


def check_policy(policy: str) -> None:
    """UsageError unless `policy` is one of PULL_POLICIES (Docker's message)."""
    if policy not in PULL_POLICIES:
        raise UsageError(f"invalid pull option: {policy!r}: must be one of "
                         f"\"always\", \"missing\" or \"never\"")


def is_complete(ctx, record) -> bool:
    """Every layer of the image is unpacked in the store."""
    from rs_docker.store.layers import LayerStore

    layers = LayerStore(ctx)
    return all(layers.has(c) for c in record.chain_ids)


def usable(ctx, record, platform_text: str | None) -> bool:
    """The image is complete, and for the platform asked for (if any)."""
    if not is_complete(ctx, record):
        return False
    if platform_text:
        from rs_docker.models import platform

        try:
            return platform.parse(record.platform) == platform.parse(platform_text)
        except RsDockerError:
            return False
    return True


def _ignore(*_args) -> None:
    pass


def ensure(ctx, name: str, policy: str = "missing", platform_text: str | None = None,
           progress=None, notice=_ignore, pull_done=_ignore):
    """The ImageRecord a container of `name` (reference or image ID) is made
    from, per the pull policy: `missing` uses a usable local image without
    contacting the registry and pulls otherwise (after `notice("Unable to
    find image 'x' locally")`, as `docker run` says), `always` pulls, `never`
    only looks. `progress` goes to image.pull; `pull_done()` is called once
    a pull ends, however it ends."""
    check_policy(policy)
    if policy != "always":
        from rs_docker.store.images import ImageIndex

        found = ImageIndex(ctx).find(name)
        if found and usable(ctx, found[0], platform_text):
            return found[0]
    from rs_docker.models.reference import parse

    ref = parse(name)
    if policy == "never":
        raise no_such_image(ref.familiar)
    if policy == "missing":
        notice(f"Unable to find image '{ref.familiar}' locally")
    from rs_docker.image.pull import pull

    try:
        return pull(ctx, ref, platform_text, progress)
    finally:
        pull_done()
