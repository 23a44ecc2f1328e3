"""A started container in the foreground: signals to the runtime forwarded to
its PID 1, its pty relayed with the caller's terminal raw, its exit waited
for. Shared by `run` (start.run) and `exec` (exec.exec_in)."""

from __future__ import annotations

from rs_docker.cpython import signal as _signal


def foreground(launch, forward_signals: bool, stdin, stdout):
    """Start with launch() -> Container, forward signals, relay the console
    (if any) and wait for the exit."""
    with SignalForwarder(forward_signals) as forwarder:
        c = launch()
        try:
            forwarder.attach(c)
            if c.console is not None:
                attach_console(c, forwarder, stdin, stdout)
        finally:
            result = c.wait()
        return result


def attach_console(c, forwarder: SignalForwarder, stdin, stdout) -> None:
    """Relay the pty until the container exits, the caller's terminal raw."""
    from rs_docker.runtime import tty  # process.terminal only

    if stdin is not None:
        forwarder.on_winch = lambda: tty.copy_winsize(stdin, c.console)
    with tty.RawMode(stdin if stdin is not None else -1):
        tty.relay(c.console, stdin, stdout, c.exit_fd)


# ---- signals ---------------------------------------------------------------
# Forward the signals the runtime receives to the container's PID 1, as
# `docker run` (without -d) and runc's signal handler do. SIGCHLD, SIGPIPE
# and the job-control stops are not forwarded (Docker's ForwardAllSignals
# skips SIGCHLD, SIGPIPE, SIGURG). Python runs handlers only in the main
# thread: from another thread, forwarding is off.

FORWARDED = (_signal.SIGHUP, _signal.SIGINT, _signal.SIGQUIT, _signal.SIGTERM, _signal.SIGUSR1,
             _signal.SIGUSR2, _signal.SIGWINCH, _signal.SIGALRM, _signal.SIGCONT)


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
                self.saved[sig] = _signal.signal(sig, self._handle)
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
        if sig == _signal.SIGWINCH and self.on_winch is not None:
            self.on_winch()
        elif self.target is None:
            self.pending.append(sig)
        else:
            self.target.kill(sig)

    def _restore(self) -> None:
        for sig, old in self.saved.items():
            _signal.signal(sig, old if old is not None else _signal.SIG_DFL)
        self.saved = {}
