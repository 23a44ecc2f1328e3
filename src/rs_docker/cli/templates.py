"""The small part of Go's text/template that `--format` users type:
`{{.Field}}`, `{{.A.B}}`, `{{json .}}`, `{{json .Field}}`, and the `table`
prefix. Values print the way Go prints them (slices as [a b], maps as
map[k:v], nil as <nil>)."""

from __future__ import annotations

import json
import re

from rs_docker.errors import UsageError

_ACTION = re.compile(r"{{\s*(json\s+)?\.([A-Za-z0-9_.]*)\s*}}")


def go_json(value) -> str:
    """JSON the way Go's encoding/json writes it: compact, <>& escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def go_str(value) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_str(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _lookup(obj, path: str):
    for part in [p for p in path.split(".") if p]:
        if not isinstance(obj, dict) or part not in obj:
            raise UsageError(f"template: can't evaluate field {part}")
        obj = obj[part]
    return obj


def render(template: str, obj: dict) -> str:
    """Expand `template` for one object."""
    template = template.replace("\\t", "\t").replace("\\n", "\n")

    def expand(m: re.Match) -> str:
        value = _lookup(obj, m.group(2))
        return go_json(value) if m.group(1) else go_str(value)

    if "{{" in _ACTION.sub("", template):
        raise UsageError(f"template: unsupported action in {template!r}")
    return _ACTION.sub(expand, template)


def is_table(template: str) -> bool:
    return template.startswith("table")


def table_body(template: str) -> str:
    return template[len("table"):].strip()
