"""The runtime's processes, by role. The parent's side: start (run, spawn:
fork PID 1, directly or through a first child A), handshake (the parent's
half of every start), preforked (PID 1 forked early), foreground (signals
and the pty while PID 1 runs), reap. The children: init (A and PID 1), exec
(a process joining a running container), finalize (the last steps to
execve, shared by both). Between them: sync (the one message table), and
trampoline/ (the exec stub that keeps host files off /proc/self/exe)."""
