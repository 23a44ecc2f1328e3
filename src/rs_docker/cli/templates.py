"""`--format` and `-f` as Docker takes them: Go templates (the engine is
cli/gotemplate/), `json`, and the `table` prefix, for every command.

    render(fmt, obj)                      one object (inspect, version, info...)
    render(fmt, obj, missingkey="error")  docker inspect's map lookups
    compile(fmt)                          parse once, execute per row

A template Docker cannot parse or execute is a UsageError worded as the
docker CLI words it: `template parsing error: template: :1:2: executing
"" at <.Foo>: map has no entry for key "Foo"` (exit 1 outside run).
"""

from __future__ import annotations

from rs_docker.cli.gotemplate import Struct, Template, TemplateError, go_json, sprint_value
from rs_docker.errors import UsageError

__all__ = ["Struct", "TemplateError", "compile", "execute", "go_json", "go_str", "is_table", "preformat",
           "render", "table_body"]

_cache: dict[tuple[str, str, bool], Template] = {}

# Fields that are Go maps in the documents Docker's inspect templates see
# (Config.Labels, NetworkSettings.Networks, HostConfig.PortBindings...).
MAP_FIELDS = frozenset({"Labels", "ExposedPorts", "Volumes", "Networks", "Ports",
                        "PortBindings", "Sysctls", "StorageOpt", "Tmpfs", "Annotations",
                        "Options", "Data", "Containers", "DriverOpts"})


def go_str(value) -> str:
    """A value as a template action prints it (fmt's %v)."""
    return sprint_value(value)


def compile(text: str, missingkey: str = "default", header: bool = False) -> Template:
    """The parsed template (cached); UsageError when Go would refuse it."""
    key = (text, missingkey, header)
    if key not in _cache:
        try:
            _cache[key] = Template(text, missingkey=missingkey, header=header,
                                   map_fields=MAP_FIELDS)
        except TemplateError as e:
            raise UsageError(f"template parsing error: {e}") from None
    return _cache[key]


def execute(template: Template, obj) -> str:
    try:
        return template.execute(obj)
    except TemplateError as e:
        raise UsageError(f"template parsing error: {e}") from None


def render(template: str, obj, missingkey: str = "default") -> str:
    """Expand `template` for one object (`json` alone: its JSON)."""
    if template == "json":
        return go_json(obj)
    return execute(compile(template, missingkey), obj)


def is_table(template: str) -> bool:
    return template.startswith("table")


def table_body(template: str) -> str:
    """A table's row template: preformat() of it."""
    return preformat(template)


def preformat(template: str) -> str:
    """docker/cli formatter.Context.preFormat: the body without the
    `table` prefix, outer spaces trimmed, the two-character escapes `\\t`
    and `\\n` a shell leaves in made real tabs and newlines."""
    body = template[len("table"):] if is_table(template) else template
    body = body.strip(" ")
    return body.replace("\\t", "\t").replace("\\n", "\n")
