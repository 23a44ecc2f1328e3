"""Docker's wording for a flag value it cannot take, kept on one line; and
the files flags name (--env-file, a seccomp profile), read with a bound.

docker/cli parses flags with spf13/pflag, which reports a value its type
refuses as `invalid argument %q for %q flag: %v` (pflag flag.go, the
failf in (*FlagSet).set); the flag is named "-m, --memory" when it has a
short form. Go's %q (strconv.Quote) escapes control characters, so a value
with a newline in it cannot split the one-line error in two.
"""

from __future__ import annotations

import os

from rs_docker.errors import UsageError

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def quote(text: str) -> str:
    """Go's %q of a string: in double quotes, `\\` `"` and control
    characters escaped."""
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif c.isprintable():
            out.append(c)
        else:
            code = ord(c)
            out.append(f"\\x{code:02x}" if code < 0x80 else
                       f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def invalid_argument(value: str, flag: str, why: str) -> UsageError:
    """pflag's error for `value` given to `flag` ("-m, --memory", "--cpus")."""
    return UsageError(f"invalid argument {quote(value)} for {quote(flag)} flag: {why}")


def read_regular_file(path: str, limit: int, what: str, opening: str = "open") -> bytes:
    """The bytes of the file at path that a flag names (`what`: "env file",
    "seccomp profile"). UsageError when it cannot be opened (`opening path:
    reason`), is not a regular file (a device such as /dev/zero reads
    without end, a FIFO blocks the open) or holds more than limit bytes.
    The stat refuses a device before it is opened (an open has side effects
    on some); the fstat of what was opened (O_NONBLOCK: a FIFO swapped in
    meanwhile does not block) decides."""
    import stat

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise UsageError(f"{what} {path}: not a regular file")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as e:
        raise UsageError(f"{opening} {path}: {(e.strerror or str(e)).lower()}") from None
    too_large = UsageError(f"{what} {path}: larger than {_size(limit)}")
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(f"{what} {path}: not a regular file")
        if st.st_size > limit:
            raise too_large
        with open(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise UsageError(f"read {path}: {(e.strerror or str(e)).lower()}") from None
    finally:
        os.close(fd)
    if len(data) > limit:  # it grew since the fstat
        raise too_large
    return data


def _size(limit: int) -> str:
    return f"{limit >> 20} MiB" if limit >= 1 << 20 else f"{limit >> 10} KiB"
