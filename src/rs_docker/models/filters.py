"""`--filter key=value` as Docker reads it (docker/cli opts.FilterOpt,
moby api/types/filters): the arguments become {key: [values]}; values of
one key are alternatives (OR), different keys must all match (AND).
Shared by every list command (ps, images, and volume/network ls)."""

from __future__ import annotations

from rs_docker.errors import UsageError


def parse(items, keys) -> dict[str, list[str]]:
    """["label=a", "status=exited"] -> {"label": ["a"], "status": ["exited"]};
    UsageError in Docker's words for `foo` (no `=`) or a key not in `keys`."""
    out: dict[str, list[str]] = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip().lower()
        if not eq:
            raise UsageError(f"bad format of filter (expected name=value): {item}")
        if key not in keys:
            raise UsageError(f"invalid filter '{key}'")
        out.setdefault(key, []).append(value.strip())
    return out


def match_all(filters: dict[str, list[str]], tests: dict) -> bool:
    """Docker's rule: every key present holds for at least one of its values."""
    return all(any(tests[key](v) for v in values) for key, values in filters.items())


def label_matches(labels: dict | None, wanted: str) -> bool:
    """label=KEY (set, any value) or label=KEY=VALUE (that value)."""
    labels = labels or {}
    key, eq, value = wanted.partition("=")
    if not eq:
        return key in labels
    return key in labels and labels[key] == value


def bool_value(key: str, value: str) -> bool:
    """dangling=/is-task= accept Docker's spellings of a bool (strconv.ParseBool)."""
    low = value.lower()
    if low in ("1", "t", "true"):
        return True
    if low in ("0", "f", "false"):
        return False
    raise UsageError(f"invalid filter '{key}={value}'")


def path_match(pattern: str, name: str) -> bool:
    """Go's path.Match: `*` and `?` never match `/`, `[...]` classes
    (`^` negates), `\\` escapes; a bad pattern matches nothing."""
    import re

    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\" and i + 1 < n:
            i += 1
            out.append(re.escape(pattern[i]))
        elif c == "[":
            j = pattern.find("]", i + 1)
            if j < 0:
                return False
            body = pattern[i + 1:j]
            negate = body.startswith("^")
            body = body[1:] if negate else body
            out.append("[" + ("^/" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = j
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.fullmatch("".join(out), name) is not None
    except re.error:
        return False
