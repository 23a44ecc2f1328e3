"""Container logs in Docker's json-file format (daemon/logger/jsonfilelog):
one JSON object per line, {"log": "text\\n", "stream": "stdout"|"stderr",
"time": RFC 3339 with nanoseconds, UTC}. A line longer than 16 KiB is cut
into entries without the trailing newline, as Docker does
(daemon/logger/copier.go: bufSize 16K).

The writer (jsonlog.py, re-exported here) runs in the container monitor,
which should stay small. The reader serves `logs` (--tail, --since, -f).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator

from rs_docker.container.jsonlog import MAX_LINE, LogWriter, encode, rfc3339_nano  # noqa: F401
from rs_docker.values import record


def log_path(container_dir, container_id: str):
    return f"{container_dir}/{container_id}-json.log"  # str or Path container_dir

# -- reading --------------------------------------------------------------------

@record
class Entry:
    stream: str
    time: str
    text: str


def _parse(line: bytes) -> Entry | None:
    try:
        obj = json.loads(line)
        return Entry(str(obj["stream"]), str(obj["time"]), str(obj["log"]))
    except (ValueError, KeyError, TypeError):
        return None  # a line cut short by a crash: skip it, as Docker's decoder does


def read_all(path) -> tuple[list[Entry], int]:
    """Every entry, and the byte offset after the last complete line."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return [], 0
    end = data.rfind(b"\n") + 1
    return [e for e in map(_parse, data[:end].splitlines()) if e is not None], end


def follow(path, offset: int, running: Callable[[], bool],
           interval: float = 0.1) -> Iterator[Entry]:
    """Entries appended after `offset` until `running()` turns false (then
    what is left is read once more, so nothing written before the exit is lost)."""
    while True:
        still = running()
        try:
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size < offset:
                    offset = 0  # rotated (--log-opt max-size): a new file began
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            entry = _parse(line)
            if entry is not None:
                yield entry
        offset += end
        if not still:
            return
        if not end:
            time.sleep(interval)


# -- selecting ------------------------------------------------------------------

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_go_duration(text: str) -> float | None:
    """Go's time.ParseDuration ("1h30m", "10s", "1.5h") in seconds; None if not one."""
    pos, total = 0, 0.0
    if not text:
        return None
    while pos < len(text):
        m = _DURATION.match(text, pos)
        if m is None:
            return None
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return total


def parse_time(text: str) -> float | None:
    """RFC 3339 (fraction up to nanoseconds; no zone means UTC) -> Unix seconds."""
    from datetime import UTC, datetime

    t = text.strip().replace("Z", "+00:00")
    frac = 0.0
    m = re.match(r"^(.*T\d\d:\d\d:\d\d)\.(\d+)(.*)$", t)
    if m:
        t, frac = m.group(1) + m.group(3), float("0." + m.group(2))
    try:
        value = datetime.fromisoformat(t)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp() + frac


def parse_since(text: str, now: float | None = None) -> float:
    """--since/--until as docker logs takes them (docker/api types/time
    GetTimestamp): a Go duration before now ("10m"), a Unix timestamp
    ("1700000000.5"), or an RFC 3339 date/time. Returns Unix seconds."""
    from rs_docker.errors import UsageError

    now = time.time() if now is None else now
    ago = parse_go_duration(text)
    if ago is not None:
        return now - ago
    try:
        return float(text)
    except ValueError:
        pass
    value = parse_time(text)
    if value is None:
        raise UsageError(f'invalid value for "since": {text}: not a timestamp or duration')
    return value


def select(entries: list[Entry], tail: int | None = None, since: float | None = None,
           until: float | None = None) -> list[Entry]:
    """The last `tail` entries (None: all) within [since, until)."""
    if since is not None or until is not None:
        def keep(e: Entry) -> bool:
            t = parse_time(e.time) or 0.0
            return (since is None or t >= since) and (until is None or t < until)
        entries = [e for e in entries if keep(e)]
    if tail is not None:
        entries = entries[len(entries) - tail:] if tail > 0 else []
    return entries


# -- drivers and rotation -------------------------------------------------------

DRIVERS = ("json-file", "local", "none")
# The options each driver takes (moby daemon/logger/jsonfilelog, local).
_OPTS = {"json-file": ("max-size", "max-file", "compress", "labels", "labels-regex", "env",
                       "env-regex", "tag"),
         "local": ("max-size", "max-file", "compress"),
         "none": ()}
# `local`'s defaults (moby daemon/logger/local): 20 MB, 5 files. Its entries
# are stored here in the json-file format (Docker's is protobuf): `logs`
# reads both the same way.
_LOCAL_DEFAULTS = {"max-size": "20m", "max-file": "5"}


def parse_size(text: str) -> int:
    """docker/go-units RAMInBytes: 10m, 1k, 2g, 512 (bytes)."""
    from rs_docker.errors import UsageError

    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?", text.strip().lower())
    if not m:
        raise UsageError(f"invalid size: '{text}'")
    scale = 1024 ** " kmgtp".index(m.group(2) or " ")
    return int(float(m.group(1)) * scale)


def log_config(driver: str, opts) -> dict:
    """HostConfig.LogConfig from --log-driver and --log-opt, Docker's errors."""
    from rs_docker.errors import UsageError

    if driver not in DRIVERS:
        raise UsageError(f"failed to create task for container: logger: no log driver named "
                         f"'{driver}' is registered")
    config: dict[str, str] = {}
    for item in opts:
        key, eq, value = item.partition("=")
        if not eq:
            raise UsageError(f"invalid log opt: {item}: expected KEY=VALUE")
        if key not in _OPTS[driver]:
            raise UsageError(f"unknown log opt '{key}' for {driver} log driver")
        config[key] = value
    if "max-size" in config and parse_size(config["max-size"]) <= 0:
        config.pop("max-size")
    if "max-file" in config:
        try:
            files = int(config["max-file"])
        except ValueError:
            raise UsageError(f"invalid value for max-file: {config['max-file']}") from None
        if files < 1:
            raise UsageError("max-file cannot be less than 1")
        if files > 1 and "max-size" not in config and driver == "json-file":
            raise UsageError("max-file cannot be set without max-size")
    if driver == "local":
        config = {**_LOCAL_DEFAULTS, **config}
    return {"Type": driver, "Config": config}


def rotation(record: dict) -> tuple[int, int] | None:
    """(max bytes, files kept) of the container's log, None: unbounded."""
    config = ((record.get("HostConfig") or {}).get("LogConfig") or {}).get("Config") or {}
    if "max-size" not in config:
        return None
    return parse_size(config["max-size"]), int(config.get("max-file") or 1)


def files(path: str) -> list[str]:
    """The log's files, oldest first (rotated ones are PATH.1, PATH.2...)."""
    older = []
    n = 1
    while os.path.exists(f"{path}.{n}"):
        older.append(f"{path}.{n}")
        n += 1
    return [*reversed(older), path]


def read_every(path: str) -> tuple[list[Entry], int]:
    """read_all over the rotated files too; the offset is the live file's."""
    entries: list[Entry] = []
    for older in files(path)[:-1]:
        entries += read_all(older)[0]
    live, offset = read_all(path)
    return entries + live, offset
