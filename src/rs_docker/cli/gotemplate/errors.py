"""The errors of a template, worded as Go's text/template words them."""

from __future__ import annotations


class TemplateError(Exception):
    """A template that cannot be parsed or executed; str() is Go's line,
    `template: NAME:LINE[:COL]: ...`."""


class ParseError(TemplateError):
    """Go's template.Parse failed."""


class ExecError(TemplateError):
    """Go's Template.Execute failed."""
