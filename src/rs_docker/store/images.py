"""The image index: images.json maps a full reference to an ImageRecord.

Writers take an exclusive lock, read, modify and replace the whole file
(temp, fsync, rename), so concurrent `pull`s never lose each other's update
and readers — who take no lock — see the old or the new file, never a part.
"""

from __future__ import annotations

import os

from rs_docker import jsonio
from rs_docker.context import Context
from rs_docker.errors import Conflict, DigestMismatch, InvalidReference, StoreError
from rs_docker.models.digest import Digest, is_hex
from rs_docker.models.reference import parse
from rs_docker.store.atomic import write_atomic
from rs_docker.values import record

FORMAT_VERSION = 1


@record
class ImageRecord:
    """One tagged (or digest-pinned) image in the local store."""

    reference: str                 # full normalized: docker.io/library/ubuntu:latest
    manifest: Digest               # the platform manifest
    config: Digest                 # its config blob: the image ID
    repo_digest: Digest | None     # what the registry named (index or manifest)
    chain_ids: list[Digest] | tuple[Digest, ...] = ()
    created: str | None = None
    platform: str = ""

    @property
    def id(self) -> Digest:
        return self.config

    def to_json(self) -> dict:
        out = self._asdict()
        for key in ("manifest", "config", "repo_digest"):
            value = out[key]
            out[key] = str(value) if value is not None else None
        out["chain_ids"] = [str(c) for c in self.chain_ids]
        return out

    @classmethod
    def from_json(cls, data: dict) -> ImageRecord:
        repo = data.get("repo_digest")
        return cls(
            reference=str(data["reference"]),
            manifest=Digest.parse(data["manifest"]),
            config=Digest.parse(data["config"]),
            repo_digest=Digest.parse(repo) if repo else None,
            chain_ids=[Digest.parse(c) for c in data.get("chain_ids", [])],
            created=data.get("created"),
            platform=str(data.get("platform", "")),
        )


class ImageIndex:
    """Reference -> ImageRecord, persisted in ctx.images_file."""

    def __init__(self, ctx: Context):
        self.ctx = ctx

    def _lock(self):
        # Imported here: `run` only reads the index, without a lock.
        from rs_docker.store.locks import file_lock

        return file_lock(os.path.join(self.ctx.locks_dir, "images.lock"))

    def _load(self) -> dict[str, ImageRecord]:
        path = os.fspath(self.ctx.images_file)
        try:
            with open(path, "rb") as f:
                text = f.read()
        except FileNotFoundError:
            return {}
        except OSError as e:
            raise StoreError(f"read {path}: {e.strerror.lower()}") from e
        try:
            # jsonio, not json: `run` reads the index on every start and json
            # (which imports re) stays off the run path; the file's indent=1
            # layout is plain JSON whitespace to it.
            data = jsonio.loads(text)
            return {ref: ImageRecord.from_json(rec) for ref, rec in data["images"].items()}
        except (ValueError, KeyError, TypeError, AttributeError, DigestMismatch) as e:
            raise StoreError(f"image index {path} is corrupt: {e}") from None

    def _save(self, records: dict[str, ImageRecord]) -> None:
        # json for its indent, which keeps the file readable to users; here:
        # `run` only reads the index.
        import json

        data = {"version": FORMAT_VERSION,
                "images": {ref: rec.to_json() for ref, rec in sorted(records.items())}}
        os.makedirs(self.ctx.root, 0o700, exist_ok=True)
        write_atomic(self.ctx.images_file, json.dumps(data, indent=1).encode() + b"\n",
                     self.ctx.tmp_dir)

    def get(self, ref: str) -> ImageRecord | None:
        return self._load().get(ref)

    def put(self, record: ImageRecord) -> None:
        """Add or replace the record of record.reference."""
        with self._lock():
            records = self._load()
            records[record.reference] = record
            self._save(records)

    def remove(self, ref: str) -> ImageRecord | None:
        """Drop one reference; the record it had, or None."""
        with self._lock():
            records = self._load()
            old = records.pop(ref, None)
            if old is not None:
                self._save(records)
            return old

    def all(self) -> list[ImageRecord]:
        return list(self._load().values())

    def find(self, text: str) -> list[ImageRecord]:
        """Records `text` names, the way Docker resolves an image argument:
        a reference (ubuntu, ubuntu:22.04, name@sha256:...) first, else an
        image ID (config digest, full or a unique hex prefix, with or without
        "sha256:"). Every tag of the matched image is returned. Conflict if an
        ID prefix matches more than one image; [] if nothing matches."""
        records = self._load().values()
        by_ref = _by_reference(records, text)
        if by_ref:
            return by_ref
        prefix = _id_prefix(text)
        if prefix is None:
            return []
        ids = {r.config for r in records if r.config.hex.startswith(prefix)}
        if len(ids) > 1:
            raise Conflict(f"image id prefix {text!r} is ambiguous: it matches "
                           f"{len(ids)} images")
        return [r for r in records if r.config in ids]


def _by_reference(records, text: str) -> list[ImageRecord]:
    try:
        ref = parse(text)
    except InvalidReference:
        return []
    if ref.digest is None:
        return [r for r in records if r.reference == str(ref)]
    # name@digest matches the record pulled by that digest, or any tag of the
    # same repository whose registry digest (or manifest) is that digest.
    return [r for r in records
            if r.reference == str(ref)
            or (_repository(r.reference) == ref.name
                and ref.digest in (r.repo_digest, r.manifest))]


def _id_prefix(text: str) -> str | None:
    """The hex of an image ID argument, full or a prefix, with or without
    "sha256:" (the grammar ^(?:sha256:)?([a-f0-9]{1,64})$, matched whole);
    None if `text` is not one."""
    hexpart = text.removeprefix("sha256:")
    return hexpart if 0 < len(hexpart) <= 64 and is_hex(hexpart) else None


def _repository(reference: str) -> str:
    name = reference.split("@", 1)[0]
    slash, colon = name.rfind("/"), name.rfind(":")
    return name[:colon] if colon > slash else name
