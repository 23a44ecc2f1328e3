"""rs_docker.cpython: each private CPython module hidden (missing, or
lacking a name we call) gives way to its public fallback, which gives the
same results for what rs-docker uses; on every CPython of pyproject's
range found on this machine (this interpreter, and pyenv's 3.12+)."""

from __future__ import annotations

import glob
import os
import subprocess
import sys

import pytest

SRC = os.path.join(os.path.dirname(__file__), "..", "..", "src")

# Run in a fresh interpreter (-S: no site, as the console script's path is
# lean): hide what argv names, import rs_docker.cpython, use every call
# rs-docker makes, print the results and which module served each.
PROBE = r'''
import os, sys, types
hide, lack, preload = sys.argv[1], sys.argv[2], sys.argv[3]
for name in filter(None, preload.split(",")):
    __import__(name)  # the public module exists; it may need the private one itself
for name in filter(None, hide.split(",")):
    sys.modules[name] = None  # import raises ImportError
if lack:
    name, attr = lack.split(".")
    real = __import__(name)
    stub = types.ModuleType(name)
    stub.__dict__.update({k: v for k, v in vars(real).items() if k != attr})
    sys.modules[name] = stub

from rs_docker import cpython as c
from rs_docker import jsonio
from rs_docker.values import record

out = {}
s = c.signal
out["sigusr1"] = int(s.SIGUSR1)
out["default"] = s.getsignal(s.SIGUSR1) == s.SIG_DFL
seen = []
old = s.signal(s.SIGUSR1, lambda n, f: seen.append(int(n)))
os.kill(os.getpid(), s.SIGUSR1)
out["handled"] = seen
out["old_is_default"] = old == s.SIG_DFL
s.signal(s.SIGUSR1, s.SIG_DFL)
before = s.pthread_sigmask(s.SIG_BLOCK, {s.SIGUSR2})
out["blocked"] = sorted(int(x) for x in s.pthread_sigmask(s.SIG_SETMASK, before))
out["valid"] = len(s.valid_signals()) > 0 and int(s.SIGKILL) in {int(x) for x in s.valid_signals()}
out["nsig"] = int(s.NSIG)
pid = os.fork()
if pid == 0:
    os.read(os.open("/dev/null", os.O_RDONLY), 1) or __import__("time").sleep(30)
    os._exit(0)
fd = os.pidfd_open(pid)
s.pidfd_send_signal(fd, s.SIGKILL)
out["killed"] = os.waitpid(pid, 0)[1] & 0x7F
os.close(fd)

t = c.thread
lock, done = t.allocate_lock(), t.allocate_lock()
done.acquire()
lock.acquire()
out["lock_held"] = lock.acquire(timeout=0)
result = []
t.start_new_thread(lambda a, b: (result.append(a + b), done.release()), (2, 3))
done.acquire(timeout=10)
out["thread"] = result

k = c.socket
a, b = k.socketpair(k.AF_UNIX, k.SOCK_SEQPACKET)
r, w = os.pipe()
a.sendmsg([b"one"], [(k.SOL_SOCKET, k.SCM_RIGHTS, r.to_bytes(4, sys.byteorder))])
a.sendmsg([b"two"])
data, anc, _flags, _addr = b.recvmsg(64, k.CMSG_SPACE(4), k.MSG_CMSG_CLOEXEC)
got = int.from_bytes(anc[0][2], sys.byteorder)
os.write(w, b"x")
out["seqpacket"] = [data, b.recv(64), anc[0][0] == k.SOL_SOCKET and anc[0][1] == k.SCM_RIGHTS,
                    os.read(got, 1)]
udp = k.socket(k.AF_INET, k.SOCK_DGRAM | k.SOCK_CLOEXEC)
out["udp"] = udp.fileno() >= 0
udp.close()

out["sha256"] = c.sha256(b"abc").hexdigest()
h = c.sha256()
h.update(b"ab")
h.update(b"c")
out["sha256_update"] = h.digest().hex()

@record
class Point:
    x: int
    y: int = 2

p = Point(1)
out["record"] = [p.x, p.y, Point.x.__doc__, p == Point(1, 2), p._replace(y=5).y]

doc = '{"a": [1, 2.5, -3e2, "\\u00e9\\ud83d\\ude00", true, null, {"b": {}}], "c": "x\\ny"}'
value = jsonio.loads(doc)
out["loads"] = repr(value)
out["dumps"] = [jsonio.dumps(value), jsonio.dumps(value, compact=False, sort_keys=True),
                jsonio.dumps("\u00e9")]
out["encode_basestring"] = c.encode_basestring("\u00e9\n\"<")
for bad in ("[1,", "{} x", "nul"):
    try:
        jsonio.loads(bad)
        out["bad " + bad] = "accepted"
    except ValueError:
        out["bad " + bad] = "ValueError"
try:
    jsonio.dumps({"a": object()})
except TypeError as e:
    out["not serializable"] = str(e)

served = {"signal": c.signal.__name__, "thread": type(c.thread).__name__,
          "socket": c.socket.__name__, "sha256": c.sha256.__module__,
          "tuplegetter": type(Point.__dict__["x"]).__name__,
          "json": c.make_scanner.__module__}
print(repr(out))
print(repr(served))
'''

# (hide, lack, preload, what serves instead: key -> the fallback's name)
CASES = {
    "_signal": ("_signal", "", "signal", {"signal": "signal"}),
    "_signal without pidfd_send_signal": ("", "_signal.pidfd_send_signal", "signal",
                                          {"signal": "signal"}),
    "_thread": ("_thread", "", "threading", {"thread": "_Threads"}),
    "_socket": ("_socket", "", "socket", {"socket": "socket"}),
    "_sha256 and _sha2": ("_sha256,_sha2", "", "", {"sha256": "_hashlib"}),
    "_collections without _tuplegetter": ("", "_collections._tuplegetter", "",
                                          {"tuplegetter": "property"}),
    "_json": ("_json", "", "", {"json": "rs_docker.cpython"}),
    "_json without encode_basestring": ("", "_json.encode_basestring", "",
                                        {"json": "rs_docker.cpython"}),
}


def _interpreters() -> list[str]:
    """This interpreter, and every other CPython >= 3.11 (pyproject's
    requires-python) pyenv holds here."""
    found = [sys.executable]
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    for exe in sorted(glob.glob(os.path.join(root, "versions", "3.*", "bin", "python3"))):
        minor = os.path.basename(os.path.dirname(os.path.dirname(exe))).split(".")[1]
        if minor.isdigit() and int(minor) >= 11:
            found.append(exe)
    return found


INTERPRETERS = _interpreters()


def probe(python: str, hide: str = "", lack: str = "", preload: str = "") -> tuple[dict, dict]:
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": os.path.abspath(SRC)}
    done = subprocess.run([python, "-S", "-c", PROBE, hide, lack, preload], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    out, served = done.stdout.splitlines()
    return eval(out), eval(served)  # noqa: S307 - our own probe's repr


@pytest.fixture(scope="module", params=INTERPRETERS)
def python(request):
    return request.param


@pytest.fixture(scope="module")
def private(python):
    return probe(python)


def test_with_every_private_module_there_each_is_used(private):
    out, served = private
    assert served["signal"] == "_signal"
    assert served["thread"] == "module"
    assert served["socket"] == "_socket"
    assert served["sha256"] in ("_sha256", "_sha2")
    assert served["tuplegetter"] == "_tuplegetter"
    assert served["json"] == "_json"
    assert out["handled"] == [out["sigusr1"]] and out["killed"] == 9
    assert out["thread"] == [5] and out["lock_held"] is False
    assert out["seqpacket"] == [b"one", b"two", True, b"x"]
    assert out["sha256"] == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert out["record"] == [1, 2, "Alias for field number 0", True, 5]
    assert out["dumps"][0] == ('{"a":[1,2.5,-300.0,"\\u00e9\\ud83d\\ude00",true,null,{"b":{}}],'
                               '"c":"x\\ny"}')


@pytest.mark.parametrize("case", CASES)
def test_the_fallback_gives_the_same_results(python, private, case):
    hide, lack, preload, expected = CASES[case]
    out, served = probe(python, hide, lack, preload)
    for key, name in expected.items():
        assert served[key] == name, (key, served)
    assert out == private[0]
