"""`@record`: a typing.NamedTuple without typing nor collections, for the
`run` path.

Written like a NamedTuple (annotated fields, class-level defaults, methods,
docstring), it makes the same kind of class: a tuple subclass with one
read-only property per field, `_fields`, `_field_defaults`, `_make`,
`_replace`, `_asdict`, a `Name(field=value, ...)` repr, pickling, and the
class body's own methods, properties and docstring.

Why not typing.NamedTuple: importing typing costs ~3 ms, and it compiles
every annotation into a ForwardRef (~40 us a field). Why not
collections.namedtuple either: importing collections (with operator,
keyword, reprlib) costs ~1.5 ms, and namedtuple compiles a `__new__` for
each class through eval (~55 us for 8 fields, ~115 us for RunOptions' 34;
~26 classes on the run path, issue 6). Here every class shares one generic
`__new__` (binding keyword arguments and defaults by hand) and the same
C field getter namedtuple uses (_collections._tuplegetter).
"""

from __future__ import annotations

from _collections import _tuplegetter

_tuple_new = tuple.__new__

# What the record defines itself, and what a class body always has; typing
# refuses to overwrite the first set too (typing._prohibited).
_NOT_COPIED = frozenset({
    "__new__", "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
    "_make", "_replace", "_asdict", "__dict__", "__weakref__", "__annotations__",
})


def _new(cls, *args, **kwargs):
    if not kwargs and len(args) == len(cls._fields):
        return _tuple_new(cls, args)
    return _tuple_new(cls, _bind(cls, args, kwargs))


def _bind(cls, args: tuple, kwargs: dict) -> list:
    """Positional, then keyword arguments, then defaults, as a def with
    these parameters would bind them (and refuse what it would refuse)."""
    fields, where = cls._fields, f"{cls.__name__}.__new__()"
    if len(args) > len(fields):
        raise TypeError(f"{where} takes {len(fields) + 1} positional arguments "
                        f"but {len(args) + 1} were given")
    for name in fields[:len(args)]:
        if name in kwargs:
            raise TypeError(f"{where} got multiple values for argument '{name}'")
    values = list(args)
    for name in fields[len(args):]:
        if name in kwargs:
            values.append(kwargs.pop(name))
        elif name in cls._field_defaults:
            values.append(cls._field_defaults[name])
        else:
            raise TypeError(f"{where} missing required argument: '{name}'")
    if kwargs:
        raise TypeError(f"{where} got an unexpected keyword argument '{next(iter(kwargs))}'")
    return values


@classmethod
def _make(cls, iterable):
    """A new record from a sequence or iterable (namedtuple's _make)."""
    result = _tuple_new(cls, iterable)
    if len(result) != len(cls._fields):
        raise TypeError(f"Expected {len(cls._fields)} arguments, got {len(result)}")
    return result


def _replace(self, /, **changes):
    """A new record with the given fields replaced."""
    result = self._make(map(changes.pop, self._fields, self))
    if changes:
        raise ValueError(f"Got unexpected field names: {list(changes)!r}")
    return result


def _repr(self) -> str:
    return self.__class__.__name__ + "(" + ", ".join(
        f"{name}={value!r}" for name, value in zip(self._fields, self, strict=True)) + ")"


def _asdict(self) -> dict:
    """A dict of field names to values."""
    return dict(zip(self._fields, self, strict=True))


def _getnewargs(self) -> tuple:
    return tuple(self)


def record(cls: type) -> type:
    """The record of `cls`'s annotated fields, in order, with its methods,
    properties and docstring. A field without a default after one with a
    default is a TypeError, as with NamedTuple."""
    annotations = cls.__dict__.get("__annotations__", {})
    fields = tuple(annotations)
    defaults = {}
    for name in fields:
        if name.startswith("_"):
            raise ValueError(f"Field names cannot start with an underscore: {name!r}")
        if name in cls.__dict__:
            defaults[name] = cls.__dict__[name]
        elif defaults:
            raise TypeError(f"non-default field {name!r} follows a default field in {cls.__name__}")
    namespace = {
        "__slots__": (), "_fields": fields, "_field_defaults": defaults,
        "__match_args__": fields, "__new__": _new, "_make": _make, "_replace": _replace,
        "__repr__": _repr, "_asdict": _asdict, "__getnewargs__": _getnewargs,
        "__doc__": f"{cls.__name__}({', '.join(fields)})",
    }
    for index, name in enumerate(fields):
        namespace[name] = _tuplegetter(index, f"Alias for field number {index}")
    namespace.update((key, value) for key, value in cls.__dict__.items()
                     if key not in _NOT_COPIED and key not in annotations)
    namespace["__annotations__"] = dict(annotations)
    return type(cls.__name__, (tuple,), namespace)
