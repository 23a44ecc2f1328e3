// The exec trampoline, aarch64 (GNU as): the same program as x86_64.S,
// which documents it (argv, modes, records on fd 3, exit statuses).
// Position independent, no data section, no libc. sp stays 16-aligned.

        .text
        .globl _start
_start:
        ldr     x19, [sp]                   // argc
        cmp     x19, #2
        b.lt    refuse
        add     x20, sp, #8                 // argv
        add     x21, x20, x19, lsl #3
        add     x21, x21, #8                // envp = &argv[argc + 1]
        mov     x0, #3                      // fcntl(3, F_SETFD, FD_CLOEXEC)
        mov     x1, #2
        mov     x2, #1
        mov     x8, #25
        svc     #0
        cbnz    x0, refuse
        ldr     x9, [x20]
        ldrb    w22, [x9]                   // MODE
        cmp     w22, #0x78                  // 'x'
        b.eq    exec
        mov     x0, #0x8000                 // clone(CLONE_PARENT, 0, 0, 0, 0)
        mov     x1, #0
        mov     x2, #0
        mov     x3, #0
        mov     x4, #0
        mov     x8, #220
        svc     #0
        cmp     x0, #0
        b.lt    failed
        b.eq    child
        lsl     x0, x0, #32                 // "PID\0" + pid
        mov     x9, #0x4950
        movk    x9, #0x44, lsl #16
        orr     x0, x0, x9
        str     x0, [sp, #-16]!
        mov     x0, #3                      // write(3, sp, 8)
        mov     x1, sp
        mov     x2, #8
        mov     x8, #64
        svc     #0
        mov     x0, #0
        b       exit
child:
        mov     x8, #157                    // setsid()
        svc     #0
        cmp     w22, #0x74                  // 't'
        b.ne    exec
        mov     x0, #0                      // ioctl(0, TIOCSCTTY, 0)
        mov     x1, #0x540e
        mov     x2, #0
        mov     x8, #29
        svc     #0
        cbnz    x0, failed
exec:
        ldr     x0, [x20, #8]               // execve(PATH, &argv[2], envp)
        add     x1, x20, #16
        mov     x2, x21
        mov     x8, #221
        svc     #0
failed:                                     // x0 = -errno
        neg     x19, x0
        lsl     x0, x19, #32                // "ERR\0" + errno
        mov     x9, #0x5245
        movk    x9, #0x52, lsl #16
        orr     x0, x0, x9
        ldr     x10, [x20, #8]              // PATH and its length
        mov     x11, #0
1:      ldrb    w12, [x10, x11]
        cbz     w12, 2f
        add     x11, x11, #1
        b       1b
2:      sub     sp, sp, #48
        str     x0, [sp, #32]               // the record
        add     x9, sp, #32
        mov     x12, #8
        stp     x9, x12, [sp]               // iovec[0] = {record, 8}
        stp     x10, x11, [sp, #16]         // iovec[1] = {PATH, len}
        mov     x0, #3                      // writev(3, iovec, 2)
        mov     x1, sp
        mov     x2, #2
        mov     x8, #66
        svc     #0
        mov     x0, #126
        cmp     x19, #2                     // ENOENT
        b.ne    exit
        mov     x0, #127
        b       exit
refuse:
        mov     x0, #126
exit:
        mov     x8, #94                     // exit_group(status)
        svc     #0
