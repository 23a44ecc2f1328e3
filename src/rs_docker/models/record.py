"""`@record`: a typing.NamedTuple without typing, for the `run` path.

Written like a NamedTuple (annotated fields, class-level defaults, methods,
docstring), built like one: typing.NamedTupleMeta (CPython 3.11
Lib/typing.py) calls collections.namedtuple with the annotated names and
defaults, then copies the rest of the class body onto the result. It also
compiles every annotation into a typing.ForwardRef (with `from __future__
import annotations` each is a string), ~40 us a field, and importing typing
costs ~3 ms: ~5 ms of every `rs-docker run` (issue 6). This decorator keeps
the annotations as the strings they are.
"""

from __future__ import annotations

from collections import namedtuple

# What collections.namedtuple defines, and what a class body always has;
# typing refuses to overwrite the first set too (typing._prohibited).
_NOT_COPIED = frozenset({
    "__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
    "_make", "_replace", "_asdict", "__dict__", "__weakref__", "__annotations__",
})


def record(cls: type) -> type:
    """The namedtuple of `cls`'s annotated fields, in order, with its methods,
    properties and docstring. A field without a default after one with a
    default is a TypeError, as with NamedTuple."""
    annotations = cls.__dict__.get("__annotations__", {})
    fields = list(annotations)
    defaults = []
    for name in fields:
        if name in cls.__dict__:
            defaults.append(cls.__dict__[name])
        elif defaults:
            raise TypeError(f"non-default field {name!r} follows a default field in {cls.__name__}")
    tpl = namedtuple(cls.__name__, fields, defaults=defaults, module=cls.__module__)
    for key, value in cls.__dict__.items():
        if key not in _NOT_COPIED and key not in annotations:
            setattr(tpl, key, value)
    tpl.__annotations__ = dict(annotations)
    return tpl
