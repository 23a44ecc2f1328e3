"""Sizes and ages printed the way Docker prints them (docker/go-units:
HumanSizeWithPrecision, HumanDuration) and Go's time.Time.String()."""

from __future__ import annotations

from datetime import UTC, datetime

_UNITS = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]


def size(n: float, precision: int = 3) -> str:
    """4264000 -> "4.26MB" (decimal units, 3 significant digits)."""
    i = 0
    while n >= 1000 and i < len(_UNITS) - 1:
        n /= 1000.0
        i += 1
    return f"{n:.{precision}g}{_UNITS[i]}"


def parse_time(text: str | None) -> datetime | None:
    """RFC 3339 (with up to nanoseconds, Z or an offset) -> aware datetime."""
    if not text:
        return None
    t = text.strip().replace("Z", "+00:00")
    if "." in t:
        head, _, frac = t.partition(".")
        digits = "".join(c for c in frac if c.isdigit())
        t = f"{head}.{digits[:6].ljust(6, '0')}{frac[len(digits):]}"
    try:
        value = datetime.fromisoformat(t)
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def duration(seconds: float) -> str:
    """go-units HumanDuration: "Less than a second", "About a minute",
    "3 hours", "2 weeks", "4 months", "2 years"."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = round(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(seconds / 3600)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{hours // 24 // 365} years"


def since(text: str | None, now: datetime | None = None) -> str:
    """"2 days ago" from an RFC 3339 time; "N/A" when unknown."""
    t = parse_time(text)
    if t is None:
        return "N/A"
    now = now or datetime.now(UTC)
    return duration(max((now - t).total_seconds(), 0)) + " ago"


def go_time(text: str | None) -> str:
    """Go's Time.String() in UTC: "2024-01-01 00:00:00 +0000 UTC"."""
    t = parse_time(text)
    if t is None:
        return ""
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")
