"""Image configuration (OCI image-spec config.md; Docker image JSON v1.2):
parsing, diff_ids, chain IDs.

The config is hostile until checked: its rootfs must be of type "layers" and
every diff_id a valid digest, because diff_ids decide where layers are kept.
"""

from __future__ import annotations

from rs_docker import jsonio
from rs_docker.errors import UnsupportedManifest
from rs_docker.models.digest import Digest
from rs_docker.values import record

# Configs are capped like manifests (models.manifest.MAX_MANIFEST_SIZE, the
# 4 MiB of containerd and the distribution registry); kept here so that `run`,
# which parses a config, does not load the manifest module.
MAX_CONFIG_SIZE = 4 * 1024 * 1024


@record
class ImageConfig:
    """The parts of an image config rs-docker uses; `raw` keeps the whole object
    (for `image inspect`) and `config` the runtime defaults (Env, Cmd, ...)."""

    architecture: str
    os: str
    diff_ids: tuple[Digest, ...]
    variant: str | None = None
    created: str | None = None
    author: str | None = None
    config: dict | None = None
    history: tuple[dict, ...] = ()
    raw: dict | None = None

    @property
    def platform(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


def parse(data: bytes) -> ImageConfig:
    """Parse and validate a config blob. Raises UnsupportedManifest."""
    if len(data) > MAX_CONFIG_SIZE:
        raise UnsupportedManifest(f"image config too large ({len(data)} bytes, limit 4 MiB)")
    try:
        body = _loads(data)
    except jsonio.TooDeep as e:
        raise UnsupportedManifest(f"invalid image config: {e}") from None
    except (ValueError, UnicodeDecodeError):
        raise UnsupportedManifest("invalid image config: not JSON") from None
    if not isinstance(body, dict):
        raise UnsupportedManifest("invalid image config: not a JSON object")
    rootfs = body.get("rootfs")
    if not isinstance(rootfs, dict) or rootfs.get("type") != "layers":
        raise UnsupportedManifest("invalid image config: rootfs.type is not \"layers\"")
    diff_ids = rootfs.get("diff_ids")
    if not isinstance(diff_ids, list):
        raise UnsupportedManifest("invalid image config: rootfs.diff_ids is not a list")
    try:
        parsed = tuple(Digest.parse(d) for d in diff_ids)
    except Exception:
        raise UnsupportedManifest("invalid image config: a diff_id is not a valid digest") from None
    runtime = body.get("config") or {}
    history = body.get("history") or []
    if not isinstance(runtime, dict) or not isinstance(history, list):
        raise UnsupportedManifest("invalid image config: config or history has the wrong type")
    return ImageConfig(
        architecture=_str(body, "architecture") or "",
        os=_str(body, "os") or "",
        diff_ids=parsed,
        variant=_str(body, "variant"),
        created=_str(body, "created"),
        author=_str(body, "author"),
        config=runtime,
        history=tuple(h for h in history if isinstance(h, dict)),
        raw=body,
    )


def _loads(data: bytes):
    """json.loads(data). `run` parses a config on every start, so through
    jsonio (json imports re, kept off the run path); what jsonio refuses goes to
    json, which also takes a UTF-8 BOM, UTF-16/32 and lone surrogates. A
    config is image content: nesting past jsonio.MAX_DEPTH is refused."""
    try:
        return jsonio.loads(data, max_depth=jsonio.MAX_DEPTH)
    except jsonio.TooDeep:
        raise
    except ValueError:  # UnicodeDecodeError included
        return jsonio.loads_any(data, max_depth=jsonio.MAX_DEPTH)


def chain_ids(diff_ids: tuple[Digest, ...] | list[Digest]) -> list[Digest]:
    """ChainID(L0) = DiffID(L0); ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))
    (OCI image-spec config.md "Layer ChainID")."""
    import hashlib  # only pull computes chain IDs; `run` reads them from the index

    out: list[Digest] = []
    for diff_id in diff_ids:
        if not out:
            out.append(diff_id)
            continue
        text = f"{out[-1]} {diff_id}".encode()
        out.append(Digest("sha256", hashlib.sha256(text).hexdigest()))
    return out


def _str(body: dict, key: str) -> str | None:
    value = body.get(key)
    return value if isinstance(value, str) and value else None
