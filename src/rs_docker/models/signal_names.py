"""Signal names as Docker takes them (moby/sys/signal ParseSignal):
"SIGTERM", "TERM", "term", "15" and "SIGRTMIN+3" all work."""

from __future__ import annotations

import signal

from rs_docker.errors import UsageError


def parse_signal(text: str | int) -> int:
    """A signal number from a name or a number; UsageError when invalid."""
    raw = str(text).strip()
    if raw.isdigit():
        number = int(raw)
        if 0 < number < signal.NSIG:
            return number
        raise UsageError(f"invalid signal: {text}")
    name = raw.upper().removeprefix("SIG")
    base, plus, offset = name.partition("+")
    if base in ("RTMIN", "RTMAX") and (not plus or offset.isdigit()):
        number = signal.SIGRTMIN + int(offset or 0) if base == "RTMIN" \
            else signal.SIGRTMAX - int(offset or 0)
        if signal.SIGRTMIN <= number <= signal.SIGRTMAX:
            return int(number)
    elif name and hasattr(signal.Signals, f"SIG{name}") and "_" not in name:
        return int(signal.Signals[f"SIG{name}"])
    raise UsageError(f"invalid signal: {text}")


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)
