"""process.capabilities -> the bounding, effective, permitted, inheritable and
ambient sets of the container process (capabilities(7)).

Order, as runc/crun do it: drop the bounding set while still root (it needs
CAP_SETPCAP), set KEEPCAPS before the runtime's setuid so permitted survives
it, then capset the final sets and raise the ambient ones.
"""

from __future__ import annotations

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import capabilities as lc
from rs_docker.models.security import CAP_NUMBERS


def mask_of(names: list[str] | None, last_cap: int) -> int:
    """Names -> bit mask. Names this kernel does not know (numbers above
    cap_last_cap, or unknown spellings) are skipped, as runc does with a
    warning: a config written for a newer kernel must still run."""
    mask = 0
    for name in names or []:
        nr = CAP_NUMBERS.get(name.upper() if name.upper().startswith("CAP_")
                             else "CAP_" + name.upper())
        if nr is not None and nr <= last_cap:
            mask |= 1 << nr
    return mask


def drop_bounding(bounding: list[str], have: int | None = None,
                  last: int | None = None) -> None:
    """Drop from the bounding set every capability not in `bounding`.
    have, last: this process's bounding set and cap_last_cap when the caller
    read them before fork (steps.prepare): read here, in the forked child,
    they would be its first open/read of /proc files after fork, about
    half of this step's cost."""
    if last is None:
        last = lc.last_cap()
    keep = mask_of(bounding, last)
    try:
        if have is None:
            have = lc.bounding_set()
        for nr in range(last + 1):
            if have & (1 << nr) and not keep & (1 << nr):
                lc.bounding_drop(nr)
    except OSError as e:
        raise RuntimeFailure(f"dropping capabilities: {e.strerror}") from None


def raise_effective() -> None:
    """Make effective = permitted again (setuid to non-root cleared it) so the
    last privileged steps can run before the final capset."""
    cur = lc.capget()
    lc.capset(lc.CapSets(cur.permitted, cur.permitted, cur.inheritable))


def apply(section: dict, last: int | None = None) -> None:
    """Set effective/permitted/inheritable exactly, then the ambient set.
    A capability this process does not hold cannot be granted (capset(2)
    EPERM); such requests are narrowed to what we hold, as Docker narrows
    "ALL" to the daemon's own set (moby oci/caps initCaps). last:
    cap_last_cap, if the caller read it before fork."""
    if last is None:
        last = lc.last_cap()
    held = lc.capget().permitted
    sets = lc.CapSets(mask_of(section.get("effective"), last) & held,
                      mask_of(section.get("permitted"), last) & held,
                      mask_of(section.get("inheritable"), last) & held)
    try:
        lc.capset(sets)
        lc.ambient_clear()
        for name in section.get("ambient") or []:
            nr = mask_of([name], last).bit_length() - 1
            if nr >= 0:  # EPERM unless also in permitted and inheritable
                lc.ambient_raise(nr)
        lc.set_keepcaps(False)
    except OSError as e:
        raise RuntimeFailure(f"setting capabilities: {e.strerror}") from None
