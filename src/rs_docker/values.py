"""`@record`: the one way this project writes a value type.

A value is written like a typing.NamedTuple: annotated fields in order,
class-level defaults, methods, properties, classmethods and a docstring:

    @record
    class Platform:
        \"\"\"An OCI platform.\"\"\"

        os: str
        architecture: str
        variant: str | None = None
        annotations: dict = default_factory(dict)

        def __str__(self) -> str: ...

The contract of the class it makes:

- immutable: a tuple subclass with `__slots__ = ()`; each field is a
  read-only property (assigning one raises AttributeError);
- named fields: `Platform("linux", "arm64")` or by keyword, bound as a def
  with those parameters would bind them (and refused as it would refuse);
  `_fields`, `_field_defaults`, `__match_args__`;
- defaults: a class-level value is the field's default, shared by every
  instance, so keep it immutable; `default_factory(make)` calls `make()`
  for each instance that needs the default (a fresh dict, say). A field
  without a default after one with a default is a TypeError;
- equality and hash by value: those of the tuple of its fields (what a
  frozen dataclass hashes too). Being a tuple, a record also equals a plain
  tuple of the same values, orders like one and unpacks like one;
- `_replace(**changes)` returns a copy with some fields changed, `_make`
  builds one from an iterable, `_asdict()` returns a dict; the repr is
  `Name(field=value, ...)`; pickling and copy work;
- checks or normalization of the arguments (what a dataclass does in
  `__post_init__`): define `__new__(cls, ...)` in the class body with a
  plain signature, ending in `tuple.__new__(cls, (values in field order))`.
  The interpreter then binds the arguments itself, which is also faster
  than the generic binder for a class built many times (see `Flag`).
  `_make` and `_replace` do not call it: they take values already checked.

Why not a dataclass (frozen, slots): `import dataclasses` pulls in inspect
and re, and each class is compiled through exec; `rs-docker run` defines
two dozen value types before it forks (docs/ARCHITECTURE.md, start-up).
Why not typing.NamedTuple or collections.namedtuple: importing typing or
collections is itself a cost on that path, and namedtuple compiles a
`__new__` per class through eval. Here every class shares one generic
`__new__` and the C field getter namedtuple uses
(_collections._tuplegetter).
"""

from __future__ import annotations

from rs_docker.cpython import tuplegetter as _tuplegetter

_tuple_new = tuple.__new__

# What the record defines itself, and what a class body always has; typing
# refuses to overwrite the first set too (typing._prohibited). A class
# body's own __new__ is kept (see the module's docstring).
_NOT_COPIED = frozenset({
    "__init__", "__slots__", "__getnewargs__", "_fields", "_field_defaults",
    "_field_factories", "_make", "_replace", "_asdict", "__dict__", "__weakref__",
    "__annotations__", "__annotate__",
})


class default_factory:  # noqa: N801 - read as a function in a class body, like dataclasses.field
    """A field's default made afresh for each instance: `make()`."""

    __slots__ = ("make",)

    def __init__(self, make) -> None:
        self.make = make


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
        elif name in cls._field_factories:
            values.append(cls._field_factories[name]())
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


def _annotations(cls: type) -> dict:
    """The class body's own annotations, in order. Read through the class
    (not its __dict__) so that lazily evaluated annotations (PEP 649) are
    evaluated; a fresh class inherits none."""
    return dict(cls.__annotations__) if "__annotations__" in cls.__dict__ or \
        "__annotate__" in cls.__dict__ else {}


def _defaults(cls: type, fields: tuple) -> tuple[dict, dict]:
    """The fields' plain defaults and their default factories."""
    defaults, factories = {}, {}
    for name in fields:
        if name.startswith("_"):
            raise ValueError(f"Field names cannot start with an underscore: {name!r}")
        if name not in cls.__dict__:
            if defaults or factories:
                raise TypeError(
                    f"non-default field {name!r} follows a default field in {cls.__name__}")
            continue
        value = cls.__dict__[name]
        if isinstance(value, default_factory):
            factories[name] = value.make
        else:
            defaults[name] = value
    return defaults, factories


def record(cls: type) -> type:
    """The record of `cls`'s annotated fields, in order, with its methods,
    properties and docstring (the contract is the module's docstring)."""
    annotations = _annotations(cls)
    fields = tuple(annotations)
    defaults, factories = _defaults(cls, fields)
    namespace = {
        "__slots__": (), "_fields": fields, "_field_defaults": defaults,
        "_field_factories": factories, "__match_args__": fields, "__new__": _new,
        "_make": _make, "_replace": _replace, "__repr__": _repr, "_asdict": _asdict,
        "__getnewargs__": _getnewargs, "__doc__": f"{cls.__name__}({', '.join(fields)})",
    }
    for index, name in enumerate(fields):
        namespace[name] = _tuplegetter(index, f"Alias for field number {index}")
    namespace.update((key, value) for key, value in cls.__dict__.items()
                     if key not in _NOT_COPIED and key not in annotations)
    namespace["__annotations__"] = annotations
    return type(cls.__name__, (tuple,), namespace)
