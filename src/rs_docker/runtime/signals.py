"""Forward the signals the runtime receives to the container's PID 1, as
`docker run` (without -d) and runc's signal handler do.

SIGCHLD, SIGPIPE and the job-control stops are not forwarded (Docker's
ForwardAllSignals skips SIGCHLD, SIGPIPE, SIGURG). Python runs handlers
only in the main thread: from another thread, forwarding is off.
"""

from __future__ import annotations

import signal

FORWARDED = (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGUSR1,
             signal.SIGUSR2, signal.SIGWINCH, signal.SIGALRM, signal.SIGCONT)


class SignalForwarder:
    """Context manager: while active, FORWARDED signals go to `target.kill`.
    Signals arriving before `attach` are queued and delivered on attach."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.target = None
        self.pending: list[int] = []
        self.saved: dict[int, object] = {}
        self.on_winch = None  # terminal mode: resize the pty instead of forwarding

    def __enter__(self):
        if not self.enabled:
            return self
        try:
            for sig in FORWARDED:
                self.saved[sig] = signal.signal(sig, self._handle)
        except ValueError:  # not the main thread: Python cannot install handlers
            self._restore()
        return self

    def __exit__(self, *exc):
        self._restore()

    def attach(self, target) -> None:
        self.target = target
        pending, self.pending = self.pending, []
        for sig in pending:
            self._handle(sig, None)

    def _handle(self, sig, _frame) -> None:
        if sig == signal.SIGWINCH and self.on_winch is not None:
            self.on_winch()
        elif self.target is None:
            self.pending.append(sig)
        else:
            self.target.kill(sig)

    def _restore(self) -> None:
        for sig, old in self.saved.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        self.saved = {}
