"""OCI linux.seccomp -> a compiled libseccomp filter, exported as raw BPF
(crun's libcrun_generate_seccomp). Loading it is linux/seccomp_bpf.py's, without
libseccomp; runtime/security/seccomp_cache.py imports this module only on a miss.

Semantics follow runc libcontainer/seccomp: unknown syscall names are skipped
(a profile names calls of every architecture and kernel); a rule whose action
equals the default action is skipped (libseccomp refuses it); several
conditions on the same argument become separate rules (libseccomp cannot AND
them, runc ORs them the same way).
"""

from __future__ import annotations

import errno

from rs_docker.errors import RuntimeFailure
from rs_docker.linux import seccomp as scmp
from rs_docker.values import record

_SIMPLE = {"SCMP_ACT_KILL": scmp.ACT_KILL_THREAD, "SCMP_ACT_KILL_THREAD": scmp.ACT_KILL_THREAD,
           "SCMP_ACT_KILL_PROCESS": scmp.ACT_KILL_PROCESS, "SCMP_ACT_TRAP": scmp.ACT_TRAP,
           "SCMP_ACT_ALLOW": scmp.ACT_ALLOW, "SCMP_ACT_LOG": scmp.ACT_LOG}


@record
class Rule:
    name: str
    nr: int
    action: int
    args: list[tuple[int, int, int, int]]


@record
class Program:
    """The filter as data: what will be loaded, inspectable in tests."""
    default_action: int
    arches: list[int]
    rules: list[Rule]
    skipped: list[str]  # names libseccomp does not know


def action_value(name: str, errno_ret: int | None) -> int:
    """OCI action name -> libseccomp action; errno defaults to EPERM (OCI
    runtime-spec config-linux.md "errnoRet")."""
    if name in _SIMPLE:
        return _SIMPLE[name]
    if name == "SCMP_ACT_ERRNO":
        return scmp.ACT_ERRNO | ((errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    if name == "SCMP_ACT_TRACE":
        return scmp.ACT_TRACE | ((errno.EPERM if errno_ret is None else errno_ret) & 0xFFFF)
    raise RuntimeFailure(f"seccomp: unsupported action {name}")


def generate(section: dict) -> Program:
    """Resolve names, actions and conditions of an OCI linux.seccomp section."""
    default = action_value(section["defaultAction"], section.get("defaultErrnoRet"))
    arches = []
    for arch in section.get("architectures") or []:
        token = scmp.arch_token(arch)
        if not token:
            raise RuntimeFailure(f"seccomp: unknown architecture {arch}")
        arches.append(token)
    rules, skipped = [], []
    for call in section.get("syscalls") or []:
        action = action_value(call["action"], call.get("errnoRet"))
        if action == default:
            continue
        for name in call["names"]:
            nr = scmp.syscall_number(name)
            if nr == scmp.NR_SCMP_ERROR:
                skipped.append(name)
                continue
            rules += [Rule(name, nr, action, args) for args in _conditions(call.get("args"))]
    return Program(default, arches, rules, skipped)


def _conditions(args: list[dict] | None) -> list[list[tuple[int, int, int, int]]]:
    """One AND-list per rule to add; repeated indexes split into one rule each."""
    conds = [(a["index"], scmp.CMP[a["op"]], a.get("value", 0), a.get("valueTwo", 0))
             for a in args or []]
    indexes = [c[0] for c in conds]
    if len(set(indexes)) == len(indexes):
        return [conds]
    return [[c] for c in conds]


def compile_program(program: Program, optimize: int = 2) -> scmp.Filter:
    """Build the libseccomp context. no_new_privs is left to the config
    (process.noNewPrivileges), as runc does: libseccomp would set it on load.

    The syscall dispatch is a binary tree (SCMP_FLTATR_CTL_OPTIMIZE 2), not
    libseccomp's default linear list: the same rules, but the kernel's
    load, which runs the filter once per syscall number to build its action
    cache (kernel/seccomp.c seccomp_cache_prepare), is several times
    shorter for Docker's profile although the program is longer (983 ->
    1227 instructions), and it happens in every container start between
    fork and exec (docs/ARCHITECTURE.md, Start-up rules); each filtered
    syscall in the container then takes O(log n) comparisons instead of
    O(n)."""
    flt = scmp.Filter(program.default_action)
    try:
        flt.set_nnp(False)
        try:
            if optimize:
                flt.set_optimize(optimize)
        except OSError:
            pass  # libseccomp < 2.5: the linear filter, equally correct
        for token in program.arches:
            flt.add_arch(token)
        for rule in program.rules:
            flt.add_rule(rule.action, rule.nr, rule.args, rule.name)
    except OSError as e:
        flt.release()
        raise RuntimeFailure(f"seccomp: {e.strerror}") from None
    return flt


def compile_bpf(section: dict) -> bytes:
    """The raw BPF program of an OCI linux.seccomp section: what
    seccomp_load would install (seccomp_export_bpf(3))."""
    flt = compile_program(generate(section))
    try:
        return flt.export_bpf()
    except OSError as e:
        raise RuntimeFailure(f"seccomp: {e.strerror}") from None
    finally:
        flt.release()
