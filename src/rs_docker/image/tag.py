"""`docker tag`: one more reference to an image already in the store.

The new reference gets the same manifest, config and chain IDs; no blob or
layer is copied. Like Docker, a tag in another repository has no RepoDigest
until it is pushed or pulled there (a digest belongs to a repository).
"""

from __future__ import annotations

from rs_docker.errors import UsageError
from rs_docker.models.reference import parse


def tag(ctx, source: str, target: str):
    """Make `target` (default tag latest) name the image `source` names (a
    reference or an image ID prefix); returns the new ImageRecord. Raises
    ImageNotFound, InvalidReference, UsageError (a digest in `target`)."""
    from rs_docker.image.local import find
    from rs_docker.store.images import ImageIndex

    ref = parse(target)
    if ref.digest is not None:
        # Docker: "refusing to create a tag with a digest reference".
        raise UsageError(f"refusing to create a tag with a digest reference: {target}")
    record = find(ctx, source)[0]
    same_repository = parse(record.reference, default_tag=False).name == ref.name
    new = record._replace(reference=str(ref),
                          repo_digest=record.repo_digest if same_repository else None)
    ImageIndex(ctx).put(new)
    return new
