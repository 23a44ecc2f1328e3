"""process.rlimits -> setrlimit(2).

An unprivileged process (and root without CAP_SYS_RESOURCE, as on this VM)
cannot raise a hard limit above its own (getrlimit(2) EPERM). podman then
fails with a bare "operation not permitted"; we say which limit and why.
"""

from __future__ import annotations

import resource

from rs_docker.errors import RuntimeFailure

_INFINITY = 2**64 - 1  # OCI uses uint64; resource uses RLIM_INFINITY (-1)


def _value(v: int) -> int:
    return resource.RLIM_INFINITY if v >= _INFINITY or v < 0 else v


def _show(v: int) -> str:
    return "unlimited" if v == resource.RLIM_INFINITY else str(v)


def apply_rlimits(rlimits: list[dict]) -> None:
    """Set each {"type": "RLIMIT_NOFILE", "soft": N, "hard": M} on this process."""
    for rl in rlimits:
        kind = rl.get("type", "")
        res = getattr(resource, kind, None) if kind.startswith("RLIMIT_") else None
        if res is None:
            raise RuntimeFailure(f"setrlimit: unknown rlimit type {kind!r}")
        soft, hard = _value(rl["soft"]), _value(rl["hard"])
        try:
            resource.setrlimit(res, (soft, hard))
        except (ValueError, OSError) as e:
            raise RuntimeFailure(_explain(kind, res, soft, hard, e)) from None


def _explain(kind: str, res: int, soft: int, hard: int, err: Exception) -> str:
    name = kind.removeprefix("RLIMIT_").lower()
    _, host_hard = resource.getrlimit(res)
    above = host_hard != resource.RLIM_INFINITY and (
        hard == resource.RLIM_INFINITY or hard > host_hard)
    if above:
        return (f"ulimit {name}={_show(soft)}:{_show(hard)}: hard limit is above this "
                f"host's {_show(host_hard)} and raising it needs CAP_SYS_RESOURCE")
    return f"setrlimit {name}={_show(soft)}:{_show(hard)}: {str(err).lower()}"
