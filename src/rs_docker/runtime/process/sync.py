"""The sync channel between the runtime (parent) and the container's init
processes (children): one AF_UNIX SOCK_SEQPACKET socketpair.

SEQPACKET keeps message boundaries and carries file descriptors (the pty
master, SCM_RIGHTS, unix(7)), so every message is one JSON object
{"type": KIND, ...}. Every KIND is a constant below; senders and receivers
use the constants, never the bare strings:

  constant  kind        direction            fields / fds: meaning
  BUNDLE    "bundle"    parent -> P1         bundle, stdio [bool x 3] + the
                                             stdio fds given: the run
                                             (preforked.py)
  READY     "ready"     P1 -> parent         P1 runs the bundle (preforked.py);
                        exec child -> parent it joined the namespaces
                                             (exec.py)
  FALLBACK  "fallback"  P1 -> parent         reason: start it the usual way
  USERNS    "userns"    child -> parent      unshared CLONE_NEWUSER: write my
                                             id maps
  MAPPED    "mapped"    parent -> child      id maps written
  PID       "pid"       child -> parent      pid: host PID of the container's
                                             PID 1 (or of the exec'd process)
  GO        "go"        parent -> child      in its cgroup: go on
  PTY       "pty"       child -> parent      + the pty master (terminal: true)
  CONSOLE   "console"   parent -> child      window size set: go on
  DONE      "done"      child -> parent      the rootless helper's fn ran
                                             (rootless.run_in_userns)
  ERROR     "error"     child -> parent      step, errno, message: a step
                                             failed, the child exits
  EXEC      "exec"      (never sent)         what the parent waits for last:
                                             EOF, the command exec'd; only an
                                             ERROR may arrive instead

The exec trampoline (trampoline/), which cannot write JSON, sends two
fixed binary records instead, read here as the messages they stand for:

  b"PID\0" + int32          {"type": "pid", "pid": N}  (the process it spawned)
  b"ERR\0" + int32 + path   {"type": "error", "step": "exec", ...}

The child's end is O_CLOEXEC, and the trampoline's copy of it too, so the
command's execve closes the last one: the parent reads EOF and knows the
container command is running (runc does the same with its exec fifo). No exception crosses fork(): a failing child sends an
"error" message and os._exit()s; the parent raises it.
"""

from __future__ import annotations

import os
import sys

from rs_docker import jsonio
from rs_docker.cpython import socket as _socket

BUNDLE = "bundle"
READY = "ready"
FALLBACK = "fallback"
USERNS = "userns"
MAPPED = "mapped"
PID = "pid"
GO = "go"
PTY = "pty"
CONSOLE = "console"
DONE = "done"
ERROR = "error"
EXEC = "exec"

MAX_MESSAGE = 65536
_FD_SIZE = 4  # an fd in SCM_RIGHTS is a C int (unix(7)); not `array`, which imports collections


class Channel:
    """One end of the sync socketpair."""

    def __init__(self, sock: _socket.socket):
        self.sock = sock

    @classmethod
    def pair(cls) -> tuple[Channel, Channel]:
        # Python creates sockets non-inheritable (O_CLOEXEC, PEP 446).
        a, b = _socket.socketpair(_socket.AF_UNIX, _socket.SOCK_SEQPACKET)
        return cls(a), cls(b)

    def fileno(self) -> int:
        return self.sock.fileno()

    def send(self, kind: str, fd: int | None = None, *, fds: tuple[int, ...] = (),
             **fields) -> None:
        """One message, with `fd` (or every fd of `fds`, in order) attached."""
        data = jsonio.dumps({"type": kind, **fields}).encode()
        if fd is not None:
            fds = (fd,)
        if not fds:
            self.sock.sendall(data)
        else:
            rights = b"".join(f.to_bytes(_FD_SIZE, sys.byteorder, signed=True) for f in fds)
            self.sock.sendmsg([data], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])

    def recv(self) -> tuple[dict | None, int | None]:
        """The next message and the fd it carried; (None, None) at EOF."""
        msg, fds = self.recv_fds(1)
        return msg, (fds[0] if fds else None)

    def recv_fds(self, most: int) -> tuple[dict | None, list[int]]:
        """The next message and the fds it carried (up to `most`, made
        O_CLOEXEC as they arrive: MSG_CMSG_CLOEXEC); (None, []) at EOF."""
        fds: list[int] = []
        data, ancdata, _flags, _addr = self.sock.recvmsg(
            MAX_MESSAGE, _socket.CMSG_SPACE(_FD_SIZE * most), _socket.MSG_CMSG_CLOEXEC)
        for level, kind, payload in ancdata:
            if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
                for i in range(0, len(payload) - _FD_SIZE + 1, _FD_SIZE):
                    fds.append(int.from_bytes(payload[i:i + _FD_SIZE], sys.byteorder,
                                              signed=True))
        if not data:
            for fd in fds:
                os.close(fd)
            return None, []
        if data[:1] != b"{":
            return trampoline_record(data), fds
        return jsonio.loads(data), fds

    def expect(self, kind: str) -> dict:
        """Receive one message of `kind`; raise ChildError for an error report,
        ChildGone at EOF or on anything else."""
        msg, _fd = self.recv()
        return check(msg, kind)

    def report(self, step: str, exc: BaseException) -> None:
        """Child side: send an error message describing `exc` (best effort)."""
        try:
            self.send(ERROR, step=step, errno=getattr(exc, "errno", None) or 0,
                      message=describe(step, exc))
        except OSError:
            pass  # the parent is gone; nobody to tell

    def hung_up(self) -> bool:
        """Whether the other end is closed (its process gone), without
        waiting or reading a message it may have left."""
        import select

        poller = select.poll()
        poller.register(self.sock.fileno(), 0)  # POLLHUP is always reported
        return any(ev & select.POLLHUP for _fd, ev in poller.poll(0))

    def close(self) -> None:
        self.sock.close()


def trampoline_record(data: bytes) -> dict:
    """The message a binary record of the trampoline stands for."""
    tag, value = data[:4], int.from_bytes(data[4:8], sys.byteorder, signed=True)
    if tag == b"PID\0":
        return {"type": PID, "pid": value}
    if tag == b"ERR\0":
        path = data[8:].decode("utf-8", "replace")
        return {"type": ERROR, "step": "exec", "errno": value,
                "message": f'exec: "{path}": {os.strerror(value).lower()}'}
    return {"type": "unknown record"}


class ChildError(Exception):
    """A step in the child failed (parent side)."""

    def __init__(self, step: str, errno: int, message: str):
        super().__init__(message)
        self.step, self.errno, self.message = step, errno, message


class ChildGone(Exception):
    """The child closed the channel (it exited, or exec'd) where a message was due."""


def check(msg: dict | None, kind: str) -> dict:
    if msg is None:
        raise ChildGone(kind)
    if msg.get("type") == ERROR:
        raise ChildError(msg.get("step", "?"), int(msg.get("errno") or 0),
                         str(msg.get("message", "unknown error")))
    if msg.get("type") != kind:
        raise ChildGone(f"expected {kind}, got {msg.get('type')}")
    return msg


def describe(step: str, exc: BaseException) -> str:
    """One lowercase line: our OSErrors already read `call path: reason`;
    os-module ones get `step path: reason`."""
    if isinstance(exc, OSError):
        if exc.filename is not None:
            return f"{step} {exc.filename}: {(exc.strerror or '').lower()}"
        if exc.strerror and ": " in exc.strerror:
            return exc.strerror  # already `call path: reason` (linux.syscalls.call)
        return f"{step}: {(exc.strerror or str(exc)).lower()}"
    return f"{step}: {exc}"
