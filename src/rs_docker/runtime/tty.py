"""process.terminal: a pseudo-terminal for the container.

The pty is allocated by the container's PID 1 from the container's own
devpts instance (mounted with newinstance), and the master is passed to the
runtime over the sync socket, as runc does with --console-socket: so inside
the container `tty` prints /dev/pts/0 and the host's /dev/pts is untouched.
The runtime then relays bytes between its own stdio and the master, with the
caller's terminal in raw mode and the window size followed (SIGWINCH).
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct

from rs_docker.linux import constants as C

# ---- child side -----------------------------------------------------------


def open_pty(pts_dir: str) -> tuple[int, int, str]:
    """(master, slave, slave path) from the devpts mounted at pts_dir."""
    master = os.open(os.path.join(pts_dir, "ptmx"), os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    fcntl.ioctl(master, C.TIOCSPTLCK, struct.pack("i", 0))  # unlockpt(3)
    number = struct.unpack("I", fcntl.ioctl(master, C.TIOCGPTN, b"\0" * 4))[0]
    path = os.path.join(pts_dir, str(number))
    try:
        # TIOCGPTPEER (Linux 4.13) opens the peer without a path lookup.
        slave = fcntl.ioctl(master, C.TIOCGPTPEER, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError:
        slave = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_CLOEXEC)
    return master, slave, path


def make_controlling(slave: int) -> None:
    """The slave becomes our controlling terminal (we are a session leader
    without one, after setsid) and our stdin, stdout and stderr."""
    fcntl.ioctl(slave, C.TIOCSCTTY, 0)
    as_stdio(slave)


def as_stdio(slave: int) -> None:
    """The slave becomes our stdin, stdout and stderr (not our controlling
    terminal: the process the exec trampoline spawns takes it)."""
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)


# ---- parent side ----------------------------------------------------------


def copy_winsize(src: int, dst: int) -> None:
    """Copy the window size of terminal `src` to terminal `dst` (if src is one)."""
    try:
        size = fcntl.ioctl(src, C.TIOCGWINSZ, b"\0" * 8)
        fcntl.ioctl(dst, C.TIOCSWINSZ, size)
    except OSError:
        pass  # src is not a terminal: keep the default size


class RawMode:
    """Put terminal `fd` in raw mode for the duration (cfmakeraw(3)), if it is one."""

    def __init__(self, fd: int):
        self.fd, self.saved = fd, None

    def __enter__(self):
        if os.isatty(self.fd):
            import termios
            import tty

            self.saved = termios.tcgetattr(self.fd)
            tty.setraw(self.fd, termios.TCSANOW)
        return self

    def __exit__(self, *exc):
        if self.saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, self.saved)


def relay(master: int, stdin: int | None, stdout: int, done_fd: int) -> None:
    """Copy stdin -> master and master -> stdout until `done_fd` (a pidfd of
    the init process) is readable, then drain what the container wrote."""
    os.set_blocking(master, False)
    poller = select.poll()
    poller.register(master, select.POLLIN)
    poller.register(done_fd, select.POLLIN)
    if stdin is not None:
        poller.register(stdin, select.POLLIN)
    open_master = True
    while True:
        for fd, _ev in poller.poll():
            if fd == done_fd:
                if open_master:
                    _drain(master, stdout)
                return
            if fd == master:
                if not _pump(master, stdout):
                    poller.unregister(master)
                    open_master = False
            elif fd == stdin and not _pump(stdin, master):
                poller.unregister(stdin)
                stdin = None


def _pump(src: int, dst: int) -> bool:
    """Move one chunk; False at EOF (EIO on a master whose slave is closed)."""
    try:
        data = os.read(src, 65536)
    except BlockingIOError:
        return True
    except OSError as e:
        if e.errno == errno.EIO:
            return False
        raise
    if not data:
        return False
    write_all(dst, data)
    return True


def _drain(master: int, stdout: int) -> None:
    while _pump_nowait(master, stdout):
        pass


def _pump_nowait(src: int, dst: int) -> bool:
    try:
        data = os.read(src, 65536)
    except OSError:
        return False  # EAGAIN (nothing left) or EIO (slave closed)
    if data:
        write_all(dst, data)
    return bool(data)


def write_all(fd: int, data: bytes, drop_when_gone: bool = False) -> None:
    """Write all of `data` to `fd`, waiting while it is full (non-blocking).
    drop_when_gone: a reader gone (EIO from a terminal, EPIPE from a pipe,
    EBADF) drops the data instead of raising, so the other side is still
    drained (a container blocked on a full pipe would never exit)."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            select.select([], [fd], [])
            continue
        except OSError as e:
            if drop_when_gone and e.errno in (errno.EIO, errno.EPIPE, errno.EBADF):
                return
            raise
        view = view[n:]
