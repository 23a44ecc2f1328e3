"""Docker's wording for a flag value it cannot take, kept on one line.

docker/cli parses flags with spf13/pflag, which reports a value its type
refuses as `invalid argument %q for %q flag: %v` (pflag flag.go, the
failf in (*FlagSet).set); the flag is named "-m, --memory" when it has a
short form. Go's %q (strconv.Quote) escapes control characters, so a value
with a newline in it cannot split the one-line error in two.
"""

from __future__ import annotations

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
