"""Pipes between a container and the caller's terminal, for `run` and
`exec` without -t.

A terminal handed to a container as its fd 0, 1 or 2 stays the caller's
terminal: any process of the container that keeps the fd (a background
child outliving `exec`) can read the user's later keystrokes, change the
terminal's settings (`stty -echo`) or, given CAP_SYS_ADMIN, push input into
the user's shell with TIOCSTI (ioctl_tty(2)). Docker never passes it: the
CLI relays the streams through the daemon and containerd's fifos. Here each
standard stream that is a terminal is replaced by a pipe, and a thread of
ours copies terminal -> pipe (stdin) and pipe -> terminal (stdout, stderr,
each to its own), until the container's process has exited and what it
wrote before has been read. Streams that are not terminals (files, pipes,
/dev/null) are given to the container as they are.

    relay = Relay((stdin, stdout, stderr))   # None: not given (/dev/null)
    process.start.run(..., stdin=relay.stdio[0], ...)  # the container's ends
    relay.finish()                           # once the process has exited

With `log` (a jsonlog.LogWriter: a foreground `run`'s json-file log, as
Docker logs every container), stdout and stderr are relayed whatever they
are, and each chunk is fed to the log as well.
"""

from __future__ import annotations

import fcntl
import os
import select
import termios

from rs_docker.cpython import signal as _signal
from rs_docker.cpython import thread as _thread
from rs_docker.runtime.tty import write_all

_CHUNK = 65536
_JOB_STOPS = {_signal.SIGTSTP, _signal.SIGTTIN, _signal.SIGTTOU}


class Relay:
    """The container's ends of the pipes in `stdio` (the caller's fds where
    they are not terminals), and the thread relaying the others."""

    def __init__(self, caller: tuple[int | None, int | None, int | None], log=None):
        self.stdio = list(caller)
        self.log = log
        self._mine: list[int] = []       # every pipe end we made, closed by finish()
        self._outputs: dict[int, int] = {}  # pipe read end -> caller's fd
        self._names: dict[int, str] = {}    # pipe read end -> "stdout" | "stderr"
        self._input: tuple[int, int] | None = None  # (caller's fd, pipe write end)
        for i, fd in enumerate(caller):
            if fd is not None and (os.isatty(fd) or (log is not None and i > 0)):
                self._pipe(i, fd)
        self._stop_r, self._stop_w = self._pair()
        self._done = _thread.allocate_lock()
        self._done.acquire()
        self._start()

    def _pair(self) -> tuple[int, int]:
        r, w = os.pipe()  # O_CLOEXEC: a container process gets only what is dup2'd to it
        self._mine += (r, w)
        return r, w

    def _pipe(self, i: int, fd: int) -> None:
        r, w = self._pair()
        if i == 0:
            # Non-blocking: a container that reads nothing must not stall
            # its output behind our write (pipe(7): a full pipe blocks).
            os.set_blocking(w, False)
            self._input = (fd, w)
            self.stdio[0] = r
        else:
            self._outputs[r] = fd
            self._names[r] = "stdout" if i == 1 else "stderr"
            self.stdio[i] = w

    def _start(self) -> None:
        # The relay thread blocks the signals (it inherits the mask set
        # around its creation): a forwarded signal (foreground.py) must
        # interrupt the main thread's wait, where Python runs its handler,
        # not this thread's poll (signal(7): any thread not blocking it).
        # Not the job-control stops, whose default action stops the whole
        # process wherever they land: a background `run -i` reading the
        # terminal must stop on SIGTTIN, and a reader blocking SIGTTIN gets
        # EIO instead (drivers/tty/tty_jobctrl.c, __tty_check_change).
        old = _signal.pthread_sigmask(_signal.SIG_BLOCK, _signal.valid_signals() - _JOB_STOPS)
        try:
            _thread.start_new_thread(self._run, ())
        finally:
            _signal.pthread_sigmask(_signal.SIG_SETMASK, old)

    def finish(self) -> None:
        """Call once the container's process has exited: relay what it wrote
        before, stop reading the caller's terminal, close every pipe. A
        process still holding a pipe end (left behind by `exec`) is cut off:
        reads get EOF, writes EPIPE."""
        os.write(self._stop_w, b"x")
        self._done.acquire()
        for fd in self._mine:
            os.close(fd)
        self._mine = []
        if self.log is not None:
            for name in ("stdout", "stderr"):
                self.log.flush(name)

    def _close(self, fd: int) -> None:
        self._mine.remove(fd)
        os.close(fd)

    # ---- the relay thread ----------------------------------------------------

    def _run(self) -> None:
        try:
            self._loop()
        finally:
            self._done.release()

    def _loop(self) -> None:
        poller = select.poll()
        poller.register(self._stop_r, select.POLLIN)
        for r in self._outputs:
            poller.register(r, select.POLLIN)
        feed = _Feed(poller, *self._input, self._close) if self._input is not None else None
        while True:
            for fd, _events in poller.poll():
                if fd == self._stop_r:
                    self._drain()
                    return
                if fd in self._outputs:
                    if not self._copy(fd):
                        poller.unregister(fd)
                elif feed is not None:
                    feed.ready(fd)

    def _drain(self) -> None:
        """Relay what each output pipe holds now, no more: a process left
        behind could write forever, and wait for nobody."""
        for r, dst in self._outputs.items():
            left = _pending(r)
            while left > 0:
                data = os.read(r, min(left, _CHUNK))
                if not data:
                    break
                write_all(dst, data, drop_when_gone=True)
                if self.log is not None:
                    self.log.feed(self._names[r], data)
                left -= len(data)

    def _copy(self, src: int) -> bool:
        """Move one chunk from pipe `src` to the caller (and the log); False at EOF."""
        data = os.read(src, _CHUNK)
        if not data:
            return False
        write_all(self._outputs[src], data, drop_when_gone=True)
        if self.log is not None:
            self.log.feed(self._names[src], data)
        return True


class _Feed:
    """The caller's terminal -> the container's stdin pipe: one chunk read,
    then written as the pipe takes it, then the next. End of input on the
    terminal (^D) closes the pipe, so the container reads EOF."""

    def __init__(self, poller, src: int, pipe: int, close):
        self.poller, self.src, self.pipe, self.close = poller, src, pipe, close
        self.pending = b""
        poller.register(src, select.POLLIN)

    def ready(self, fd: int) -> None:
        if fd == self.src:
            self._read()
        elif fd == self.pipe:
            self._write()

    def _read(self) -> None:
        try:
            data = os.read(self.src, _CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""  # EIO: the terminal hung up
        self.poller.unregister(self.src)
        if not data:
            self._close()
            return
        self.pending = data
        self.poller.register(self.pipe, select.POLLOUT)

    def _write(self) -> None:
        try:
            n = os.write(self.pipe, self.pending)
        except BlockingIOError:
            return
        except BrokenPipeError:
            self._close()  # the container closed its stdin
            return
        self.pending = self.pending[n:]
        if not self.pending:
            self.poller.unregister(self.pipe)
            self.poller.register(self.src, select.POLLIN)

    def _close(self) -> None:
        """EOF for the container: our write end closed, the terminal no
        longer read."""
        for fd in (self.src, self.pipe):
            try:
                self.poller.unregister(fd)
            except KeyError:
                pass
        self.close(self.pipe)


def _pending(fd: int) -> int:
    """Bytes waiting in pipe `fd` (FIONREAD, pipe(7))."""
    buf = fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0")
    return int.from_bytes(buf, "little")
