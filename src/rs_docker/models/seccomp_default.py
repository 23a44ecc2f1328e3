"""Docker's default seccomp profile, as data (Docker's profile JSON shape).

What it allows is Docker's behaviour, which rs-docker matches: the profile
of github.com/moby/profiles seccomp v0.2.3 (seccomp/default.json, vendored
by moby master; the default since Docker 1.10): an allowlist with EPERM for
everything else, calls that need a capability allowed only when the
container's bounding set has it, clone without namespace flags unless
CAP_SYS_ADMIN, clone3 answering ENOSYS so that libcs fall back to clone,
whose flags the filter can inspect, no io_uring at all (moby PR 46762,
Docker 25: its rings perform calls seccomp never sees, and it has been a
steady source of kernel exploits), and socket(2) for every address family
but AF_ALG and AF_VSOCK. The tables below are this project's own
layout of that list; `profile()` assembles the JSON shape that
seccomp_profile.convert_profile reads, the same code that reads a user's
`--security-opt seccomp=FILE`.
"""

from __future__ import annotations

EPERM = 1
ENOSYS = 38
# clone flags that create namespaces: CLONE_NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET
CLONE_NS_FLAGS = 0x7E020000

# Allowed for every container. Names libseccomp does not know are skipped
# (runtime/security/seccomp.py), so calls of newer kernels wait for a newer libseccomp.
ALLOWED = """
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2
dup3 epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait
epoll_wait_old eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64
fadvise64_64 fallocate fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat
fcntl fcntl64 fdatasync fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64
fstatat64 fstatfs fstatfs64 fsync ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait
futex_waitv futex_wake futimesat getcpu getcwd getdents getdents64 getegid getegid32 geteuid
geteuid32 getgid getgid32 getgroups getgroups32 getitimer getpeername getpgid getpgrp getpid
getppid getpriority getrandom getresgid getresgid32 getresuid getresuid32 getrlimit get_robust_list
getrusage getsid getsockname getsockopt get_thread_area gettid gettimeofday getuid getuid32
getxattr getxattrat inotify_add_watch inotify_init inotify_init1 inotify_rm_watch io_cancel ioctl
io_destroy io_getevents io_pgetevents io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit
ipc kill landlock_add_rule landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr
link linkat listen listmount listxattr listxattrat llistxattr _llseek lremovexattr lseek lsetxattr
lstat lstat64 madvise map_shadow_stack membarrier memfd_create memfd_secret mincore mkdir mkdirat
mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect mq_getsetattr mq_notify mq_open
mq_timedreceive mq_timedreceive_time64 mq_timedsend mq_timedsend_time64 mq_unlink mremap mseal
msgctl msgget msgrcv msgsnd msync munlock munlockall munmap name_to_handle_at nanosleep newfstatat
_newselect open openat openat2 pause pidfd_open pidfd_send_signal pipe pipe2 pkey_alloc pkey_free
pkey_mprotect poll ppoll ppoll_time64 prctl pread64 preadv preadv2 prlimit64 process_mrelease
pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read readahead readlink readlinkat readv recv
recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages removexattr removexattrat rename
renameat renameat2 restart_syscall riscv_hwprobe rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl
semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid
setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit
set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 setxattr
setxattrat shmat shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn
socketcall socketpair splice stat stat64 statfs statfs64 statmount statx symlink symlinkat sync
sync_file_range syncfs sysinfo tee tgkill time timer_create timer_delete timer_getoverrun
timer_gettime timer_gettime64 timer_settime timer_settime64 timerfd_create timerfd_gettime
timerfd_gettime64 timerfd_settime timerfd_settime64 times tkill truncate truncate64 ugetrlimit
umask uname unlink unlinkat uretprobe utime utimensat utimensat_time64 utimes vfork vmsplice wait4
waitid waitpid write writev
"""

# Allowed only when the bounding set holds the capability.
BY_CAPABILITY = {
    "CAP_DAC_READ_SEARCH": "open_by_handle_at",
    "CAP_SYS_ADMIN": "bpf clone clone3 fanotify_init fsconfig fsmount fsopen fspick lookup_dcookie lsm_get_self_attr lsm_list_modules lsm_set_self_attr mount mount_setattr move_mount open_tree perf_event_open quotactl quotactl_fd setdomainname sethostname setns syslog umount umount2 unshare",
    "CAP_SYS_BOOT": "reboot",
    "CAP_SYS_CHROOT": "chroot",
    "CAP_SYS_MODULE": "delete_module init_module finit_module",
    "CAP_SYS_PACCT": "acct",
    "CAP_SYS_PTRACE": "kcmp pidfd_getfd process_madvise process_vm_readv process_vm_writev ptrace",
    "CAP_SYS_RAWIO": "iopl ioperm",
    "CAP_SYS_TIME": "settimeofday stime clock_settime clock_settime64",
    "CAP_SYS_TTY_CONFIG": "vhangup",
    "CAP_SYS_NICE": "get_mempolicy mbind set_mempolicy set_mempolicy_home_node",
    "CAP_SYSLOG": "syslog",
    "CAP_BPF": "bpf",
    "CAP_PERFMON": "perf_event_open",
}

# Allowed only on these architectures (moby's goToNative names: GOARCH, but x86 for 386).
BY_ARCH = {
    ('ppc64le',): "sync_file_range2 swapcontext",
    ('arm', 'arm64'): "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
    ('amd64', 'x32'): "arch_prctl",
    ('amd64', 'x32', 'x86'): "modify_ldt",
    ('s390', 's390x'): "s390_pci_mmio_read s390_pci_mmio_write s390_runtime_instr",
    ('riscv64',): "riscv_flush_icache",
}
# personality(2) personas a container may switch to: PER_LINUX, PER_LINUX32,
# UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (the query).
PERSONAS = (0x0, 0x8, 0x20000, 0x20008, 0xFFFFFFFF)
# socket(2) is allowed below AF_ALG, between the two, and above AF_VSOCK:
# a rule's conditions on one argument are ANDed, so "!= 38 and != 40" cannot
# be one rule. AF_ALG (the kernel crypto API, https://copy.fail/) since
# moby/profiles commit dec315c. socketcall(2) stays allowed, as in Docker:
# its family is behind a pointer seccomp cannot read, so a 32-bit x86
# process can still reach both families (Docker leaves that to AppArmor or
# SELinux: moby/profiles commit 3c28324).
AF_ALG, AF_VSOCK = 38, 40
SOCKET_FAMILIES = ((AF_ALG, "SCMP_CMP_LT"), (AF_ALG + 1, "SCMP_CMP_EQ"), (AF_VSOCK, "SCMP_CMP_GT"))

# Each native architecture with the compat ones a filter must also cover.
ARCH_FAMILIES = {
    "SCMP_ARCH_X86_64": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"],
    "SCMP_ARCH_AARCH64": ["SCMP_ARCH_ARM"],
    "SCMP_ARCH_MIPS64": ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64N32"],
    "SCMP_ARCH_MIPS64N32": ["SCMP_ARCH_MIPS", "SCMP_ARCH_MIPS64"],
    "SCMP_ARCH_MIPSEL64": ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64N32"],
    "SCMP_ARCH_MIPSEL64N32": ["SCMP_ARCH_MIPSEL", "SCMP_ARCH_MIPSEL64"],
    "SCMP_ARCH_S390X": ["SCMP_ARCH_S390"],
    "SCMP_ARCH_RISCV64": None,
    "SCMP_ARCH_LOONGARCH64": None,
}


def _allow(names: str, **extra) -> dict:
    return {"names": names.split(), "action": "SCMP_ACT_ALLOW", **extra}


def _arg(index: int, value: int, op: str) -> dict:
    return {"index": index, "value": value, "op": op}


def profile() -> dict:
    """The default profile as a fresh dict in Docker's profile JSON shape."""
    no_sys_admin = {"caps": ["CAP_SYS_ADMIN"]}
    s390 = ["s390", "s390x"]
    rules = [_allow(ALLOWED)]
    # ptrace and process_vm_* leak seccomp-bypassing power before 4.8.
    rules.append(_allow("process_vm_readv process_vm_writev ptrace",
                        includes={"minKernel": "4.8"}))
    rules += [_allow("socket", args=[_arg(0, family, op)]) for family, op in SOCKET_FAMILIES]
    rules += [_allow("personality", args=[_arg(0, p, "SCMP_CMP_EQ")]) for p in PERSONAS]
    rules += [_allow(names, includes={"arches": list(arches)})
              for arches, names in BY_ARCH.items()]
    rules += [_allow(names, includes={"caps": [cap]}) for cap, names in BY_CAPABILITY.items()]
    # Without CAP_SYS_ADMIN: clone only without namespace flags (the flags are
    # the first argument, the second on s390), and clone3 -> ENOSYS because a
    # filter cannot read its flags from memory; libcs then fall back to clone.
    rules.append(_allow("clone", args=[_arg(0, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ")],
                        excludes={**no_sys_admin, "arches": s390}))
    rules.append(_allow("clone", args=[_arg(1, CLONE_NS_FLAGS, "SCMP_CMP_MASKED_EQ")],
                        includes={"arches": s390}, excludes=no_sys_admin))
    rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": ENOSYS,
                  "excludes": no_sys_admin})
    return {
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": EPERM,
        "archMap": [{"architecture": a, "subArchitectures": subs}
                    for a, subs in ARCH_FAMILIES.items()],
        "syscalls": rules,
    }
