"""Container environment: -e/--env-file parsing and Docker's merge rules.

Sources: docker/cli opts/env.go ValidateEnv and opts/envfile.go (client side:
a bare KEY takes the client's value), moby daemon/commit.go merge (user env
over image env) and container.CreateDaemonEnvironment +
opts.ReplaceOrAppendEnvValues (PATH, HOSTNAME, TERM defaults; a bare KEY
unsets).
"""

from __future__ import annotations

from rs_docker.errors import UsageError

TYPE_CHECKING = False  # not typing's: typing stays off the run path (docs/ARCHITECTURE.md)
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

# docker/cli opts/file.go reads an env file with a bufio.Scanner, whose
# lines are at most bufio.MaxScanTokenSize (64 KiB): "token too long".
ENV_LINE_MAX = 64 * 1024

# moby oci/defaults.go DefaultPathEnv for Linux.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def resolve_flag(value: str, host_env: Mapping[str, str]) -> str:
    """One -e value: KEY=VALUE as is; a bare KEY takes the host's value, and
    stays bare (meaning "unset") when the host has none."""
    key, sep, _ = value.partition("=")
    if not key:
        raise UsageError(f"invalid environment variable: {value}")
    if sep:
        return value
    if key in host_env:
        return f"{key}={host_env[key]}"
    return key


def parse_env_file(text: str, host_env: Mapping[str, str], source: str = "env file") -> list[str]:
    """Parse an --env-file: one KEY=VALUE per line, `#` comments and blank
    lines skipped, the value taken literally (no quotes, no expansion); a line
    with only KEY takes the host's value, or is dropped when the host has none.
    A line longer than ENV_LINE_MAX is refused, as Docker refuses it."""
    out = []
    for number, raw in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        if len(raw) > ENV_LINE_MAX:
            raise UsageError(f"{source}: line {number}: longer than 64 KiB")
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not key:
            raise UsageError(f"{source}: line {number}: no variable name")
        if any(c.isspace() for c in key):
            raise UsageError(f"{source}: variable '{key}' contains whitespaces")
        if sep:
            out.append(f"{key}={value}")
        elif key in host_env:
            out.append(f"{key}={host_env[key]}")
    return out


def resolve_cli_env(env_files: Iterable[str], flags: Iterable[str],
                    host_env: Mapping[str, str]) -> list[str]:
    """What the docker client sends: --env-file entries first, then -e, so
    that -e wins (docker/cli ReadKVEnvStrings)."""
    return list(env_files) + [resolve_flag(v, host_env) for v in flags]


def _key(entry: str) -> str:
    return entry.partition("=")[0]


def replace_or_append(defaults: list[str], overrides: Iterable[str]) -> list[str]:
    """opts.ReplaceOrAppendEnvValues: an override replaces the default with
    the same key, or is appended; a bare KEY removes that key."""
    out = list(defaults)
    index = {_key(e): i for i, e in enumerate(out)}
    removed: set[int] = set()
    for entry in overrides:
        key = _key(entry)
        if "=" not in entry:
            if key in index:
                removed.add(index[key])
            continue
        if key in index:
            out[index[key]] = entry
            removed.discard(index[key])
        else:
            index[key] = len(out)
            out.append(entry)
    return [e for i, e in enumerate(out) if i not in removed]


def merge_user_image(user_env: Iterable[str], image_env: Iterable[str]) -> list[str]:
    """daemon/commit.go merge: the user's entries first, then each image entry
    whose key the user did not mention (a bare user KEY hides the image's)."""
    user = list(user_env)
    keys = {_key(e) for e in user}
    return user + [e for e in image_env if _key(e) not in keys]


def container_env(image_env: Iterable[str], user_env: Iterable[str], hostname: str,
                  tty: bool, home: str) -> list[str]:
    """The final process env: PATH, HOSTNAME (and TERM with -t) as defaults,
    overridden by image then user entries; bare keys dropped; HOME from the
    user's passwd entry when nobody set it (runc does the same at exec)."""
    defaults = [f"PATH={DEFAULT_PATH}", f"HOSTNAME={hostname}"]
    if tty:
        defaults.append("TERM=xterm")
    env = replace_or_append(defaults, merge_user_image(user_env, image_env))
    if not any(_key(e) == "HOME" for e in env):
        env.append(f"HOME={home}")
    return env

