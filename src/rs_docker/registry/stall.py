"""Stall detection for registry transfers, as curl's --speed-limit and
--speed-time (curl lib/speedcheck.c): a transfer that moves fewer than
`min_rate` bytes/s, averaged over `seconds`, is aborted.

A socket read timeout alone cannot do this: it restarts with every byte
received, so a registry that sends one byte every few seconds keeps a pull
waiting for ever (containerd's `image_pull_progress_timeout` has the same
blind spot). Silence is caught by the read timeout, set to the same window
(registry/transport.py); a trickle is caught here, by counting bytes as
they arrive (read1, not a read that waits for a full buffer).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rs_docker.errors import RegistryError
from rs_docker.values import record


class TransferStalled(RegistryError):
    """A registry transfer made no real progress for a whole window."""


@record
class StallLimit:
    """The minimum progress a transfer must make: `min_rate` bytes/s averaged
    over `seconds` (also the longest silence tolerated). `min_rate` 0 keeps
    only the silence check."""

    seconds: float
    min_rate: int

    @classmethod
    def of(cls, ctx) -> StallLimit:
        return cls(ctx.pull_stall_seconds, ctx.pull_min_rate)

    def meter(self, what: str, clock: Callable[[], float] = time.monotonic) -> RateMeter:
        return RateMeter(self, what, clock)


class RateMeter:
    """Counts the bytes of one transfer (`what`, named in the error) in
    consecutive windows of `limit.seconds`: `add` raises TransferStalled once
    a window ends below the minimum rate."""

    def __init__(self, limit: StallLimit, what: str, clock: Callable[[], float]):
        self.limit, self.what, self._clock = limit, what, clock
        self._start = clock()
        self._count = 0

    def add(self, n: int) -> None:
        """`n` bytes arrived now."""
        self._count += n
        now = self._clock()
        elapsed = now - self._start
        if elapsed < self.limit.seconds:
            return
        if self._count < self.limit.min_rate * elapsed:
            raise self._stalled(elapsed)
        self._start, self._count = now, 0

    def silent(self) -> TransferStalled:
        """The error for a read that timed out: nothing for a whole window."""
        return self._stalled(max(self._clock() - self._start, self.limit.seconds))

    def _stalled(self, elapsed: float) -> TransferStalled:
        return TransferStalled(
            f"{self.what}: transfer too slow: {self._count} bytes in the last "
            f"{round(elapsed, 1):g} s (minimum {self.limit.min_rate} bytes/s)")
