"""Run the security hooks for real in a forked child, then exec a busybox
shell probe, the way container init does — without the rest of the runtime.

The child gets its own mount and UTS namespaces (so masks, a tmpfs mount or a
/proc/sys write by a privileged probe touch nothing on the host). No
exception crosses fork(): a failing hook is reported as one line on the
pipe and the child exits 125.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass

from rs_docker.linux import constants as C
from rs_docker.linux.syscalls import mount, unshare
from rs_docker.models import security as ms
from rs_docker.runtime.security import steps

BUSYBOX = "/bin/busybox"


@dataclass
class Probe:
    status: int       # exit status, or 128+signal
    out: str

    def field(self, name: str) -> str:
        """A /proc/self/status field printed by the probe (`CapEff:\\t...`)."""
        for line in self.out.splitlines():
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
        raise AssertionError(f"{name} not in probe output:\n{self.out}")


def docker_config(uid: int = 0, privileged: bool = False, cap_add=(), cap_drop=(),
                  security_opts=(), rlimits=(), no_new_privs: bool = False) -> dict:
    """The security parts of a config.json as rs-docker run builds them."""
    caps = ms.capabilities_for(cap_add, cap_drop, privileged, uid)
    linux = {"maskedPaths": ms.masked_paths(privileged),
             "readonlyPaths": ms.readonly_paths(privileged)}
    sec = ms.seccomp_for(security_opts, privileged, caps["bounding"])
    if sec:
        linux["seccomp"] = sec
    return {"process": {"user": {"uid": uid, "gid": uid}, "capabilities": caps,
                        "noNewPrivileges": no_new_privs,
                        "rlimits": [ms.parse_ulimit(r) for r in rlimits]},
            "linux": linux}


def run_probe(config: dict, script: str, timeout: float = 20) -> Probe:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        os.close(r)
        try:
            _child(config, script, w)
        except BaseException as e:  # noqa: B036 - report, never unwind past fork
            os.write(w, f"hook failed: {e}\n".encode())
        os._exit(125)
    os.close(w)
    with os.fdopen(r) as f:
        out = f.read()
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return Probe(code if code >= 0 else 128 - code, out)


def _child(config: dict, script: str, w: int) -> None:
    unshare(C.CLONE_NEWNS | C.CLONE_NEWUTS)
    mount(None, "/", None, C.MS_REC | C.MS_PRIVATE)
    os.dup2(w, 1)
    os.dup2(w, 2)
    user = config["process"]["user"]
    prepared = steps.prepare(config)
    steps.apply_masks(config)
    steps.apply_rlimits(config)
    steps.drop_bounding(config)
    steps.keep_caps()
    if user["uid"]:
        os.setgroups([])
        os.setresgid(user["gid"], user["gid"], user["gid"])
        os.setresuid(user["uid"], user["uid"], user["uid"])
    steps.apply_caps(config)
    steps.set_no_new_privs(config)
    steps.load_seccomp(prepared)
    os.execv(BUSYBOX, ["sh", "-c", script])


def host_has_cap(nr: int) -> bool:
    out = subprocess.run(["grep", "CapEff", "/proc/self/status"], capture_output=True,
                         text=True).stdout
    return bool(int(out.split()[1], 16) & (1 << nr))
