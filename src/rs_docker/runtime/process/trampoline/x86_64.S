# The exec trampoline, x86_64 (GNU as). Assembled to bare code by
# scripts/trampoline.sh; runtime/process/trampoline/__init__.py wraps the bytes in a
# one-segment ELF, loads it into a sealed memfd and execs it. Position
# independent, no data section, no libc: it only makes system calls.
#
# Entered with argv = [MODE, PATH, ARG0, ARG1, ...] and fd 3 = a copy of the
# sync socket to the runtime:
#   MODE "x": execve(PATH, [ARG0, ...], envp) in this process.
#   MODE "s": clone(CLONE_PARENT): the child (our parent's child) does
#             setsid(), then the execve; we report its PID and exit 0.
#   MODE "t": as "s", and the child takes fd 0 as its controlling terminal.
# Records written to fd 3 (one SEQPACKET message each, native byte order):
#   "PID\0" + int32 pid    the spawned child's PID (modes s, t)
#   "ERR\0" + int32 errno + PATH     a failed clone or execve
# Exit status: 127 when the file was not found, 126 on any other failure
# (Docker's codes), 0 for the parent half of a spawn.
#
# fd 3 is marked close-on-exec first, so the command never holds it; if fd
# 3 is not open, this is not the runtime's exec of us (a script whose
# interpreter is /proc/self/exe lands here again after our execve closed
# fd 3): we exit 126 at once and run nothing.

        .text
        .globl _start
_start:
        mov     (%rsp), %rbx                # argc
        cmp     $2, %rbx
        jl      refuse
        lea     8(%rsp), %r12               # argv
        lea     16(%rsp,%rbx,8), %r13       # envp = &argv[argc + 1]
        mov     $72, %eax                   # fcntl(3, F_SETFD, FD_CLOEXEC)
        mov     $3, %edi
        mov     $2, %esi
        mov     $1, %edx
        syscall
        test    %rax, %rax
        jnz     refuse
        mov     (%r12), %rax
        movzbl  (%rax), %r15d               # MODE
        cmp     $'x', %r15d
        je      exec
        mov     $56, %eax                   # clone(CLONE_PARENT, 0, 0, 0, 0)
        mov     $0x8000, %edi
        xor     %esi, %esi
        xor     %edx, %edx
        xor     %r10d, %r10d
        xor     %r8d, %r8d
        syscall
        test    %rax, %rax
        js      failed
        jz      child
        shl     $32, %rax                   # "PID\0" + pid
        or      $0x444950, %rax
        push    %rax
        mov     $1, %eax                    # write(3, rsp, 8)
        mov     $3, %edi
        mov     %rsp, %rsi
        mov     $8, %edx
        syscall
        xor     %edi, %edi
        jmp     exit
child:
        mov     $112, %eax                  # setsid()
        syscall
        cmp     $'t', %r15d
        jne     exec
        mov     $16, %eax                   # ioctl(0, TIOCSCTTY, 0)
        xor     %edi, %edi
        mov     $0x540e, %esi
        xor     %edx, %edx
        syscall
        test    %rax, %rax
        jnz     failed
exec:
        mov     $59, %eax                   # execve(PATH, &argv[2], envp)
        mov     8(%r12), %rdi
        lea     16(%r12), %rsi
        mov     %r13, %rdx
        syscall
failed:                                     # %rax = -errno
        neg     %rax
        mov     %rax, %rbx
        shl     $32, %rax                   # "ERR\0" + errno
        or      $0x525245, %rax
        push    %rax
        mov     8(%r12), %rsi               # PATH and its length
        xor     %ecx, %ecx
1:      cmpb    $0, (%rsi,%rcx)
        je      2f
        inc     %rcx
        jmp     1b
2:      push    %rcx                        # iovec[1] = {PATH, len}
        push    %rsi
        push    $8                          # iovec[0] = {record, 8}
        lea     24(%rsp), %rax
        push    %rax
        mov     $20, %eax                   # writev(3, iovec, 2)
        mov     $3, %edi
        mov     %rsp, %rsi
        mov     $2, %edx
        syscall
        mov     $126, %edi
        cmp     $2, %rbx                    # ENOENT
        jne     exit
        mov     $127, %edi
        jmp     exit
refuse:
        mov     $126, %edi
exit:
        mov     $231, %eax                  # exit_group(status)
        syscall
