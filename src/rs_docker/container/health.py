"""Healthchecks (the image's HEALTHCHECK, `--health-*`, `--no-healthcheck`),
as dockerd runs them (moby daemon/health.go):

- Config.Healthcheck: {"Test", "Interval", "Timeout", "StartPeriod",
  "StartInterval", "Retries"}, durations in ns; the flags' values over the
  image's, field by field; Test ["NONE"] turns it off, ["CMD", args...]
  runs args, ["CMD-SHELL", cmd] runs `/bin/sh -c cmd`.
- A check is an exec into the container (runtime.process.exec, as
  `rs-docker exec` joins it); its stdout and stderr together, the first
  4096 bytes kept; past Timeout it is killed and counts as exit -1.
- State.Health: Status "starting" from the start until the first success
  ("healthy"), "unhealthy" once Retries checks in a row failed; failures
  within StartPeriod of the start are not counted while still starting.
  FailingStreak, and Log: the last 5 results {Start, End, ExitCode, Output}.
- Checks run Interval apart (StartInterval apart while starting within
  StartPeriod), the first one an interval after the start.

Who does what: the monitor's lean waiting program (waiter.py) keeps time
(schedule(), next_delay()) and starts each check as a child process
running this module's main(), a fresh `python -S` with the runtime, which
probes, records the result in the record under its lock, emits a
`health_status` event when the status changes, and tells the waiter the
status through its exit code (STATUS_CODES). The waiter never loads the
runtime.
"""

from __future__ import annotations

import os
import time

NS = 1_000_000_000
DEFAULT_INTERVAL = 30 * NS
DEFAULT_TIMEOUT = 30 * NS
DEFAULT_START_INTERVAL = 5 * NS
DEFAULT_RETRIES = 3
MIN_DURATION = 1_000_000  # moby's container.MinimumDuration: a shorter non-zero one is refused
MAX_OUTPUT = 4096
MAX_LOG = 5
STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"
# main()'s exit code -> the status, read by the waiter.
STATUS_CODES = {0: HEALTHY, 1: UNHEALTHY, 2: STARTING}

_FLAGS = (("health_cmd", "--health-cmd"), ("health_interval", "--health-interval"),
          ("health_timeout", "--health-timeout"), ("health_retries", "--health-retries"),
          ("health_start_period", "--health-start-period"),
          ("health_start_interval", "--health-start-interval"))


def wanted(opts) -> bool:
    """Whether the run asks anything of healthchecks (else this module is
    not imported, unless the image has one)."""
    return opts.no_healthcheck or any(getattr(opts, dest) is not None for dest, _ in _FLAGS)


def _duration(text: str, flag: str) -> int:
    from rs_docker.container.logs import parse_go_duration
    from rs_docker.errors import UsageError

    seconds = parse_go_duration(text.removeprefix("-"))
    if seconds is None:
        why = f'time: missing unit in duration "{text}"' if text.lstrip("-").replace(
            ".", "", 1).isdigit() else f'time: invalid duration "{text}"'
        raise UsageError(f'invalid argument "{text}" for "{flag}" flag: {why}')
    ns = round(seconds * NS)
    if text.startswith("-"):
        raise UsageError(f"{flag} cannot be negative")
    if 0 < ns < MIN_DURATION:
        name = {"--health-interval": "Interval", "--health-timeout": "Timeout",
                "--health-start-period": "StartPeriod",
                "--health-start-interval": "StartInterval"}[flag]
        raise UsageError(f"{name} in Healthcheck cannot be less than 1ms")
    return ns


def from_flags(opts) -> dict | None:
    """The healthcheck the flags give (None: none given), Docker's checks
    and errors (docker-cli opts.parse, then the daemon's)."""
    from rs_docker.errors import UsageError

    if not wanted(opts):
        return None
    given = [flag for dest, flag in _FLAGS if getattr(opts, dest) is not None]
    if opts.no_healthcheck:
        if given:
            raise UsageError("--no-healthcheck conflicts with --health-* options")
        return {"Test": ["NONE"]}
    out: dict = {}
    if opts.health_cmd is not None:
        out["Test"] = ["CMD-SHELL", opts.health_cmd]
    for dest, key, flag in (("health_interval", "Interval", "--health-interval"),
                            ("health_timeout", "Timeout", "--health-timeout"),
                            ("health_start_period", "StartPeriod", "--health-start-period"),
                            ("health_start_interval", "StartInterval",
                             "--health-start-interval")):
        value = getattr(opts, dest)
        if value is not None:
            out[key] = _duration(value, flag)
    if opts.health_retries is not None:
        if opts.health_retries < 0:
            raise UsageError("--health-retries cannot be negative")
        out["Retries"] = opts.health_retries
    return out


def merged(flags: dict | None, image: dict | None) -> dict | None:
    """Config.Healthcheck: the flags' fields over the image's (dockerd's
    merge: a zero or missing field takes the image's value)."""
    image = image if isinstance(image, dict) else {}
    flags = flags or {}
    out = {k: v for k, v in image.items()
           if k in ("Test", "Interval", "Timeout", "StartPeriod", "StartInterval", "Retries")}
    out.update({k: v for k, v in flags.items() if v})
    if not out.get("Test"):
        return None
    return out


def enabled(check: dict | None) -> bool:
    test = (check or {}).get("Test") or []
    return bool(test) and test[0] in ("CMD", "CMD-SHELL")


def _get(check: dict, key: str, default: int) -> int:
    value = check.get(key)
    return int(value) if value else default


def schedule(check: dict) -> dict:
    """What the waiter needs to keep time, in seconds."""
    return {"interval": _get(check, "Interval", DEFAULT_INTERVAL) / NS,
            "start_interval": _get(check, "StartInterval", DEFAULT_START_INTERVAL) / NS,
            "start_period": _get(check, "StartPeriod", 0) / NS}


def next_delay(sched: dict, status: str, since_start: float) -> float:
    """Seconds until the next check (dockerd: StartInterval while starting
    within StartPeriod, else Interval)."""
    if status == STARTING and since_start < sched["start_period"]:
        return sched["start_interval"]
    return sched["interval"]


def starting() -> dict:
    """State.Health of a container that just started."""
    return {"Status": STARTING, "FailingStreak": 0, "Log": []}


# -- one check: this module's main(), a child of the waiter ------------------

def main(argv: list[str]) -> None:
    """argv: ROOT CONTAINER_ID. Probe once, record it; exit with the status's
    code (STATUS_CODES), 3 if nothing could be recorded."""
    root, container_id = argv[0], argv[1]
    from rs_docker.context import Context

    ctx = Context.from_env(root=root)
    try:
        status = check_once(ctx, container_id)
    except Exception:  # noqa: BLE001 - the container went away meanwhile: nothing to tell
        raise SystemExit(3) from None
    raise SystemExit({v: k for k, v in STATUS_CODES.items()}[status])


def check_once(ctx, container_id: str) -> str:
    from rs_docker.container import state

    record = state.read(ctx, container_id)
    check = (record.get("Config") or {}).get("Healthcheck") or {}
    pid = (record.get("State") or {}).get("Pid")
    start = state.now()
    code, output = probe(ctx, container_id, check, pid)
    return _record(ctx, container_id, check, {"Start": start, "End": state.now(),
                                              "ExitCode": code, "Output": output})


def probe(ctx, container_id: str, check: dict, pid: int) -> tuple[int, str]:
    """Run the check in the container: (exit code, output); -1 and Docker's
    text past the timeout or when it cannot start."""
    from rs_docker.container import state
    from rs_docker.store import atomic

    test = check.get("Test") or []
    args = list(test[1:]) if test[0] == "CMD" else ["/bin/sh", "-c", " ".join(test[1:])]
    d = state.container_dir(ctx, container_id)
    config = atomic.read_json(os.path.join(d, "config.json"))
    process = dict(config["process"], args=args, terminal=False)
    timeout = _get(check, "Timeout", DEFAULT_TIMEOUT) / NS
    r, w = os.pipe2(os.O_CLOEXEC)
    try:
        c = _start(pid, process, config, w)
    except Exception as e:  # noqa: BLE001 - a check that cannot run is a failed check
        os.close(r)
        return -1, str(e)
    finally:
        os.close(w)
    output, timed_out = _collect(r, c.exit_fd, timeout)
    if timed_out:
        _kill_tree(c.pid)
        c.kill(9)
    result = c.wait()
    text = output.decode("utf-8", "replace")
    if timed_out:
        return -1, f"Health check exceeded timeout ({_go_seconds(timeout)})"
    return result.exit_code, text


def _kill_tree(pid: int) -> None:
    """SIGKILL what the check started (a shell's children): its descendants,
    found through /proc's parent links (the check itself is killed by the caller)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    todo, found = [pid], []
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    for child in found:
        try:
            os.kill(child, 9)
        except ProcessLookupError:
            pass


def _go_seconds(seconds: float) -> str:
    return f"{seconds:g}s" if seconds >= 1 else f"{seconds * 1000:g}ms"


def _start(pid: int, process: dict, config: dict, out: int):
    """The check's process, started through the exec path (exec.exec_in's
    steps, without its foreground wait: we keep the timeout)."""
    from rs_docker.runtime import bundle as bundle_mod
    from rs_docker.runtime import namespaces
    from rs_docker.runtime.process.exec import start_exec
    from rs_docker.runtime.security import steps

    bundle_mod.check_process(process, "exec")
    merged_config = {**config, "process": process}
    types = {ns.get("type") for ns in (config.get("linux") or {}).get("namespaces") or []}
    os.close(os.pidfd_open(pid))
    paths = namespaces.paths_of(pid, types)
    stdio = (None, out, out)
    return start_exec(pid, (paths, stdio, merged_config, steps.prepare(merged_config)),
                      False, None)


def _collect(r: int, exit_fd: int, timeout: float) -> tuple[bytes, bool]:
    """Read the check's output until its process exits and the pipe is
    drained, or the timeout; (the first MAX_OUTPUT bytes, timed out)."""
    import select

    deadline = time.monotonic() + timeout
    kept = b""
    poller = select.poll()
    poller.register(r, select.POLLIN)
    poller.register(exit_fd, select.POLLIN)
    exited = False
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return kept, True
            events = poller.poll(left * 1000 if not exited else 0)
            if not events and exited:
                return kept, False
            for fd, _ in events:
                if fd == exit_fd:
                    exited = True
                    poller.unregister(exit_fd)
                    continue
                data = os.read(r, 65536)
                if not data:
                    return kept, False
                kept = (kept + data)[:MAX_OUTPUT]
    finally:
        os.close(r)


def _record(ctx, container_id: str, check: dict, result: dict) -> str:
    """handleProbeResult: the result into State.Health; the new status."""
    from rs_docker.container import state

    retries = _get(check, "Retries", DEFAULT_RETRIES)
    start_period = _get(check, "StartPeriod", 0) / NS
    before = [STARTING]

    def change(record: dict) -> None:
        st = record.setdefault("State", {})
        if st.get("Status") != state.RUNNING:
            return  # it stopped meanwhile: the result is of no use (dockerd drops it too)
        health = st.get("Health") or starting()
        before[0] = health["Status"]
        if result["ExitCode"] == 0:
            health.update(Status=HEALTHY, FailingStreak=0)
        else:
            counted = True
            if health["Status"] == STARTING:
                from rs_docker.container.logs import parse_time

                started = parse_time(st.get("StartedAt") or "") or 0.0
                began = parse_time(result["Start"]) or time.time()
                counted = began - started >= start_period
            if counted:
                health["FailingStreak"] = int(health.get("FailingStreak") or 0) + 1
                if health["FailingStreak"] >= retries:
                    health["Status"] = UNHEALTHY
        health["Log"] = [*(health.get("Log") or []), result][-MAX_LOG:]
        st["Health"] = health

    record = state.update(ctx, container_id, change)
    status = (record["State"].get("Health") or starting())["Status"]
    if status != before[0]:
        from rs_docker.container import events

        events.emit(ctx, "container", f"health_status: {status}", container_id,
                    events.container_attributes(record))
    return status
