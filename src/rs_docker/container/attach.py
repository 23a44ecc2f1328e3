"""`attach`: clients reaching a detached container's terminal or stdin and
its output, through its monitor.

The monitor's waiting program (waiter.py) keeps the container's pty master
(`-t`) or the write end of its stdin pipe (`-i`), and listens on a unix
socket, `attach.sock` in the container's directory (reached as
/proc/self/fd/DIRFD/attach.sock: the store's paths may pass the 108 bytes
of a socket address). Several clients may watch; the first that asks for
stdin owns it until it leaves.

Frames both ways: one type byte, a 4-byte big-endian length, the payload.
Client -> monitor: HELLO (1 byte: wants stdin), STDIN data, EOF (close
the container's stdin), RESIZE (rows, cols: 2 bytes each), SIGNAL (1
byte). Monitor -> client: STDOUT, STDERR data. The socket closes when
the container exits.

The client (attach()) puts the caller's terminal in raw mode with `-t`,
sends SIGWINCH's sizes, proxies signals without `-t` (--sig-proxy), and
stops reading at the detach sequence (--detach-keys, default ctrl-p
ctrl-q), saying Docker's "read escape sequence".
"""

from __future__ import annotations

import os
import select

SOCKET = "attach.sock"
HELLO, STDIN, EOF, RESIZE, SIGNAL, STDOUT, STDERR = range(7)
DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
ESCAPED = "read escape sequence"


def frame(kind: int, payload: bytes = b"") -> bytes:
    return bytes((kind,)) + len(payload).to_bytes(4, "big") + payload


class Frames:
    """Cuts a byte stream into (kind, payload) frames."""

    def __init__(self):
        self.buf = b""

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self.buf += data
        out = []
        while len(self.buf) >= 5:
            size = int.from_bytes(self.buf[1:5], "big")
            if len(self.buf) < 5 + size:
                break
            out.append((self.buf[0], self.buf[5:5 + size]))
            self.buf = self.buf[5 + size:]
        return out


def socket_path(dir_fd: int) -> str:
    return f"/proc/self/fd/{dir_fd}/{SOCKET}"


def listen(container_dir: str) -> int:
    """The monitor's listening socket (fd), bound afresh in the container's dir."""
    from rs_docker.cpython import socket

    dir_fd = os.open(container_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            os.unlink(SOCKET, dir_fd=dir_fd)
        except FileNotFoundError:
            pass
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        s.bind(socket_path(dir_fd))
        os.chmod(SOCKET, 0o600, dir_fd=dir_fd)
        s.listen(8)
        return s.detach()
    finally:
        os.close(dir_fd)


# -- the monitor's side (in waiter.py's loop) -----------------------------------

class Server:
    """The attach socket in the waiter's poll loop."""

    def __init__(self, listen_fd: int, stdin_fd: int, console: int, pidfd: int):
        self.listen_fd, self.stdin_fd, self.console, self.pidfd = \
            listen_fd, stdin_fd, console, pidfd
        self.clients: dict[int, Frames] = {}
        self.owner = -1

    def fds(self) -> list[int]:
        return [self.listen_fd]

    def owns(self, fd: int) -> bool:
        return fd == self.listen_fd or fd in self.clients

    def ready(self, fd: int, poller) -> None:
        if fd == self.listen_fd:
            from rs_docker.cpython import socket

            s = socket.socket(fileno=os.dup(fd))
            try:
                # _socket's accept is _accept (a new fd); socket's is accept.
                client = s._accept()[0] if hasattr(s, "_accept") else s.accept()[0].detach()
            except OSError:
                return
            finally:
                s.close()
            os.set_inheritable(client, False)
            os.set_blocking(client, False)
            self.clients[client] = Frames()
            poller.register(client, select.POLLIN)
            return
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b""
        if not data:
            self._drop(fd, poller)
            return
        for kind, payload in self.clients[fd].feed(data):
            self._handle(fd, kind, payload)

    def _handle(self, fd: int, kind: int, payload: bytes) -> None:
        if kind == HELLO:
            if payload[:1] == b"\1" and self.owner < 0 and self._input() >= 0:
                self.owner = fd
        elif kind == STDIN and fd == self.owner:
            self._write_input(payload)
        elif kind == EOF and fd == self.owner and self.stdin_fd >= 0:
            os.close(self.stdin_fd)
            self.stdin_fd = -1
        elif kind == RESIZE and self.console >= 0 and len(payload) == 4:
            import fcntl
            import termios

            winsize = payload + b"\0\0\0\0"  # rows, cols; pixels unused
            try:
                fcntl.ioctl(self.console, termios.TIOCSWINSZ, winsize)
            except OSError:
                pass
        elif kind == SIGNAL and payload:
            from rs_docker.cpython import signal

            try:
                signal.pidfd_send_signal(self.pidfd, payload[0])
            except OSError:
                pass

    def _input(self) -> int:
        return self.console if self.console >= 0 else self.stdin_fd

    def _write_input(self, data: bytes) -> None:
        target = self._input()
        if target < 0:
            return
        try:
            while data:
                data = data[os.write(target, data):]
        except OSError:
            pass  # the container closed its stdin

    def broadcast(self, kind: int, data: bytes, poller) -> None:
        message = frame(kind, data)
        for fd in list(self.clients):
            try:
                os.write(fd, message)
            except OSError:  # gone, or too slow to keep up: it is let go
                self._drop(fd, poller)

    def _drop(self, fd: int, poller) -> None:
        poller.unregister(fd)
        self.clients.pop(fd, None)
        os.close(fd)
        if fd == self.owner:
            self.owner = -1

    def close(self) -> None:
        for fd in (*self.clients, self.listen_fd):
            os.close(fd)
        self.clients = {}


# -- the client ------------------------------------------------------------------

_CTRL_PUNCT = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def parse_detach_keys(text: str) -> bytes:
    """--detach-keys: "ctrl-p,ctrl-q", "a,ctrl-c"... (docker/pkg/term ToBytes)."""
    from rs_docker.errors import UsageError

    out = []
    for key in text.split(","):
        k = key.strip().lower()
        if len(k) == 1:
            out.append(ord(k))
        elif k.startswith("ctrl-") and len(k) == 6:
            c = k[5]
            if "a" <= c <= "z":
                out.append(ord(c) - ord("a") + 1)
            elif c in _CTRL_PUNCT:
                out.append(_CTRL_PUNCT[c])
            else:
                raise UsageError(f"Invalid detach keys ({text}) provided")
        else:
            raise UsageError(f"Invalid detach keys ({text}) provided")
    return bytes(out)


def connect(container_dir: str) -> int:
    from rs_docker.cpython import socket
    from rs_docker.errors import Conflict

    dir_fd = os.open(container_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
    try:
        s.connect(socket_path(dir_fd))
    except OSError:
        s.close()
        raise Conflict("cannot attach: the container's monitor does not answer") from None
    finally:
        os.close(dir_fd)
    return s.detach()


def attach(container_dir: str, tty: bool, stdin: bool, detach_keys: bytes,
           sig_proxy: bool) -> bool:
    """Relay until the container's output ends (False) or the detach
    sequence is typed (True)."""
    from rs_docker.runtime import tty as tty_mod

    sock = connect(container_dir)
    send = _sender(sock)
    send(frame(HELLO, b"\1" if stdin else b"\0"))
    handlers = _signals(send, tty, sig_proxy)
    try:
        if tty and os.isatty(0):
            send(frame(RESIZE, _winsize(0)))
        with tty_mod.RawMode(0 if tty and stdin else -1):
            return _relay(sock, send, stdin, detach_keys)
    finally:
        _restore(handlers)
        os.close(sock)


def _sender(sock: int):
    def send(data: bytes) -> None:
        try:
            while data:
                data = data[os.write(sock, data):]
        except OSError:
            pass  # the monitor is gone: the read side sees it

    return send


def _winsize(fd: int) -> bytes:
    import fcntl
    import termios

    return fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)[:4]


def _signals(send, tty: bool, sig_proxy: bool) -> list:
    from rs_docker.cpython import signal

    saved = []

    def on_winch(_signum, _frame) -> None:
        try:
            send(frame(RESIZE, _winsize(0)))
        except OSError:
            pass

    if tty:
        saved.append((signal.SIGWINCH, signal.signal(signal.SIGWINCH, on_winch)))
    elif sig_proxy:
        def forward(signum, _frame) -> None:
            send(frame(SIGNAL, bytes((signum,))))

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
                    signal.SIGUSR1, signal.SIGUSR2):
            saved.append((sig, signal.signal(sig, forward)))
    return saved


def _restore(saved: list) -> None:
    from rs_docker.cpython import signal

    for sig, handler in saved:
        signal.signal(sig, handler)


def _relay(sock: int, send, stdin: bool, keys: bytes) -> bool:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    if stdin:
        poller.register(0, select.POLLIN)
    frames, typed = Frames(), b""
    while True:
        try:
            events = poller.poll()
        except InterruptedError:
            continue
        for fd, _ev in events:
            if fd == sock:
                data = os.read(sock, 65536)
                if not data:
                    return False
                for kind, payload in frames.feed(data):
                    os.write(2 if kind == STDERR else 1, payload)
                continue
            data = os.read(0, 65536)
            if not data:
                send(frame(EOF))
                poller.unregister(0)
                continue
            # The detach sequence is held back while it may be under way.
            data, typed = typed + data, b""
            for i in range(len(data)):
                if keys and data[i:i + len(keys)] == keys:
                    send(frame(STDIN, data[:i]))
                    return True
            tail = next((n for n in range(min(len(keys) - 1, len(data)), 0, -1)
                         if keys.startswith(data[-n:])), 0)
            if tail:
                data, typed = data[:-tail], data[-tail:]
            if data:
                send(frame(STDIN, data))
