"""Go's text/template, as Docker's `--format` and `-f` take it: a lexer
(`lexer.py`), a parser (`parser.py`) and an executor (`executor.py`)
following the Go packages of the same names, Go's fmt (`gofmt.py`), the
builtin and Docker functions (`funcs.py`), Go's error lines
(`errors.py`).

    Template(text).execute(data) -> str

`data`: what Docker would hand the template, as Python values (dicts are
Go maps; a `Struct` is a Go struct, with methods such as `.Label`);
`missingkey="error"` is Go's `Option("missingkey=error")` (Docker's
inspect), except below a field named in `map_fields` (a Go map in
Docker's typed document, where a missing key is <no value>). Never
imported by `run`.
"""

from __future__ import annotations

from rs_docker.cli.gotemplate.errors import ExecError, ParseError, TemplateError
from rs_docker.cli.gotemplate.funcs import FUNCS, HEADER, go_json
from rs_docker.cli.gotemplate.gofmt import NO_VALUE, Struct, sprint_value

__all__ = ["NO_VALUE", "ExecError", "ParseError", "Struct", "Template", "TemplateError",
           "go_json", "sprint_value"]


class Template:
    """A parsed template; ParseError (Go's `template: NAME:LINE: ...`) when
    the text is not one."""

    def __init__(self, text: str, name: str = "", missingkey: str = "default",
                 header: bool = False, map_fields: frozenset = frozenset()):
        from rs_docker.cli.gotemplate.parser import Parser

        self.name, self.text, self.missingkey = name, text, missingkey
        self.map_fields = map_fields
        self.funcs = {**FUNCS, **HEADER} if header else FUNCS
        self.root, self.defines = Parser(name, text, self.funcs).parse()

    def execute(self, data) -> str:
        """The text for `data`; ExecError (Go's `template: NAME:LINE:COL:
        executing ...`) with `.partial`, what was written before it."""
        from rs_docker.cli.gotemplate.executor import State

        out: list[str] = []
        state = State(self, out)
        state.push("$", data)
        try:
            state.walk(data, self.root)
        except ExecError as e:
            e.partial = "".join(out)
            raise
        return "".join(out)
