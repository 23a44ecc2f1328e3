"""Moved to rs_docker.values; this name stays only until the last importers
(runtime/, linux/, network/) follow."""

from rs_docker.values import record  # noqa: F401
