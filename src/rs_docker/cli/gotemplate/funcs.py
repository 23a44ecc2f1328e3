"""The functions a template may call: Go's builtins (text/template
funcs.go) and Docker's (docker/cli templates/templates.go), each with the
Go parameter types the executor checks arguments against."""

from __future__ import annotations

from rs_docker.cli.gotemplate.gofmt import (
    NO_VALUE,
    Struct,
    sorted_keys,
    sprint,
    sprint_value,
    sprintf,
    sprintln,
)


class FuncError(Exception):
    """A function's error: Go prints `error calling NAME: <this>`."""


class Func:
    """A callable with Go's signature: `params` are "any", "string",
    "int", "[]string"; `variadic` the type of the rest, if any."""

    def __init__(self, fn, params: tuple[str, ...], variadic: str | None = None):
        self.fn, self.params, self.variadic = fn, params, variadic


def truth(v) -> bool:
    """text/template's isTrue: false, 0, "", empty list/map, nil, no value."""
    if v is None or v is NO_VALUE:
        return False
    if isinstance(v, (bool, int, float, str, list, tuple, dict)):
        return bool(v) or isinstance(v, Struct)
    return True


# -- comparisons (funcs.go: basicKind, eq, lt) -------------------------------

def _kind(v) -> str | None:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float"
    if isinstance(v, str):
        return "string"
    return None


def _eq(a, *others):
    if not others:
        raise FuncError("missing argument for comparison")
    a = None if a is NO_VALUE else a
    for b in others:
        b = None if b is NO_VALUE else b
        ka, kb = _kind(a), _kind(b)
        if ka != kb:
            if a is not None and b is not None:
                raise FuncError("incompatible types for comparison")
            truth_ = False
        elif ka is None:
            if isinstance(a, (list, dict)) and b is not None or \
                    isinstance(b, (list, dict)) and a is not None:
                raise FuncError(f"non-comparable type {sprint_value(b)}: "
                                f"{'[]interface {}' if isinstance(b, list) else 'map'}")
            truth_ = a is None and b is None
        else:
            truth_ = a == b
        if truth_:
            return True
    return False


def _ne(a, b):
    return not _eq(a, b)


def _lt(a, b):
    a, b = (None if a is NO_VALUE else a), (None if b is NO_VALUE else b)
    ka, kb = _kind(a), _kind(b)
    if ka is None or kb is None:
        raise FuncError("invalid type for comparison")
    if ka != kb:
        raise FuncError("incompatible types for comparison")
    if ka == "bool":
        raise FuncError("invalid type for comparison")
    return a < b


def _le(a, b):
    return _lt(a, b) or _eq(a, b)


def _gt(a, b):
    return not _le(a, b)


def _ge(a, b):
    return not _lt(a, b)


# -- the rest of Go's builtins ---------------------------------------------------

def _not(v):
    return not truth(v)


def _len(v):
    if v is None or v is NO_VALUE:
        raise FuncError("len of nil pointer")
    if isinstance(v, str):
        return len(v.encode())
    if isinstance(v, (list, tuple, dict)):
        return len(v)
    raise FuncError(f"len of type {_type(v)}")


def _type(v) -> str:
    from rs_docker.cli.gotemplate.gofmt import type_name

    return type_name(v)


def _index_of(i, length: int | None) -> int:
    if not isinstance(i, int) or isinstance(i, bool):
        raise FuncError(f"cannot index slice/array with type {_type(i)}")
    if i < 0 or (length is not None and i >= length):
        raise FuncError(f"index out of range: {i}")
    return i


def _index(item, *indexes):
    if item is NO_VALUE:
        raise FuncError("index of untyped nil")
    for key in indexes:
        key = None if key is NO_VALUE else key
        if isinstance(item, (list, tuple)):
            item = item[_index_of(key, len(item))]
        elif isinstance(item, str):
            item = item.encode()[_index_of(key, len(item.encode()))]
        elif isinstance(item, dict):
            if key in item:
                item = item[key]
            elif not isinstance(key, str):
                raise FuncError(f"value has type {_type(key)}; should be string")
            else:
                # The zero value of the map's element type: "" for a map of
                # strings (Labels), nil for a map of anything else.
                item = "" if all(isinstance(v, str) for v in item.values()) else None
        elif item is None:
            # A nil map or slice of a typed document (Docker inspects
            # structs first): the element's zero value, or out of range.
            if isinstance(key, str):
                item = ""
            else:
                raise FuncError(f"index out of range: {key}")
        else:
            raise FuncError(f"can't index item of type {_type(item)}")
    return item


def _slice(item, *indexes):
    if item is NO_VALUE or item is None:
        raise FuncError("slice of untyped nil")
    if len(indexes) > 3:
        raise FuncError(f"too many slice indexes: {len(indexes)}")
    if isinstance(item, str):
        if len(indexes) == 3:
            raise FuncError("cannot 3-index slice a string")
        data, length = item.encode(), len(item.encode())
    elif isinstance(item, (list, tuple)):
        data, length = list(item), len(item)
    else:
        raise FuncError(f"can't slice item of type {_type(item)}")
    idx = [0, length]
    for i, x in enumerate(indexes[:2]):
        idx[i] = _index_of(x, None)
        if idx[i] > length:
            raise FuncError(f"index out of range: {idx[i]}")
    if idx[0] > idx[1]:
        raise FuncError(f"invalid slice index: {idx[0]} > {idx[1]}")
    out = data[idx[0]:idx[1]]
    return out.decode(errors="replace") if isinstance(out, bytes) else out


def _html(*args):
    text = args[0] if len(args) == 1 and isinstance(args[0], str) else sprint(list(args))
    return (text.replace("&", "&amp;").replace("'", "&#39;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&#34;").replace("\0", "\ufffd"))


_JS = {"\\": "\\\\", "'": "\\'", '"': '\\"', "<": "\\u003C", ">": "\\u003E", "&": "\\u0026",
       "=": "\\u003D"}


def _js(*args):
    text = args[0] if len(args) == 1 and isinstance(args[0], str) else sprint(list(args))
    out = []
    for c in text:
        if c in _JS:
            out.append(_JS[c])
        elif c < " ":
            out.append(f"\\u00{ord(c):02X}")
        elif ord(c) >= 0x80 and not c.isprintable():
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return "".join(out)


def _urlquery(*args):
    from urllib.parse import quote_plus

    text = args[0] if len(args) == 1 and isinstance(args[0], str) else sprint(list(args))
    return quote_plus(text, safe="-_.~")


def _print(*args):
    return sprint(list(args))


def _printf(fmt, *args):
    return sprintf(fmt, list(args))


def _println(*args):
    return sprintln(list(args))


# -- Docker's ------------------------------------------------------------------------

def go_json(value) -> str:
    """Docker's `json` function: encoding/json without HTML escaping,
    compact; a dict keeps its order (a Go struct's fields), floats print as
    Go prints them (1, not 1.0)."""
    import json

    text = json.dumps(_jsonable(value), separators=(",", ":"), ensure_ascii=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _jsonable(v):
    if v is NO_VALUE:
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
        return int(v)
    if isinstance(v, dict):
        # A dict of strings is a Go map (Labels: encoding/json sorts its
        # keys); any other stands for a struct, in its fields' order.
        keys = sorted(v) if not isinstance(v, Struct) and v and \
            all(isinstance(k, str) and isinstance(x, str) for k, x in v.items()) else list(v)
        return {str(k): _jsonable(v[k]) for k in keys}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    return v


def _split(s, sep):
    return list(s) if sep == "" else s.split(sep)


def _join(items, sep):
    return sep.join(items)


def _is_separator(c: str) -> bool:
    if ord(c) <= 0x7F:
        return not (c.isalnum() or c == "_")
    if c.isalpha() or c.isdigit():
        return False
    return c.isspace()


def _title(s):
    out, prev = [], " "
    for c in s:
        out.append(c.upper() if _is_separator(prev) else c)
        prev = c
    return "".join(out)


def _pad(s, prefix, suffix):
    return s if s == "" else " " * prefix + s + " " * suffix


def _truncate(s, length):
    data = s.encode()
    return s if len(data) < length else data[:length].decode(errors="replace")


BUILTINS = {
    "and": None, "or": None,   # the executor evaluates these lazily
    "not": Func(_not, ("any",)),
    "len": Func(_len, ("any",)),
    "index": Func(_index, ("any",), "any"),
    "slice": Func(_slice, ("any",), "any"),
    "print": Func(_print, (), "any"),
    "printf": Func(_printf, ("string",), "any"),
    "println": Func(_println, (), "any"),
    "html": Func(_html, (), "any"),
    "js": Func(_js, (), "any"),
    "urlquery": Func(_urlquery, (), "any"),
    "eq": Func(_eq, ("any",), "any"),
    "ne": Func(_ne, ("any", "any")),
    "lt": Func(_lt, ("any", "any")),
    "le": Func(_le, ("any", "any")),
    "gt": Func(_gt, ("any", "any")),
    "ge": Func(_ge, ("any", "any")),
}

DOCKER = {
    "json": Func(go_json, ("any",)),
    "split": Func(_split, ("string", "string")),
    "join": Func(_join, ("[]string", "string")),
    "title": Func(_title, ("string",)),
    "lower": Func(lambda s: s.lower(), ("string",)),
    "upper": Func(lambda s: s.upper(), ("string",)),
    "pad": Func(_pad, ("string", "int", "int")),
    "truncate": Func(_truncate, ("string", "int")),
}


def _first(v, *_rest):
    return v


# docker/cli's HeaderFunctions: a table's header row goes through the
# same template with every Docker function passing its first argument.
HEADER = {name: Func(_first, f.params) for name, f in DOCKER.items()}
HEADER["json"] = Func(_first, ("any",))

FUNCS = {**BUILTINS, **DOCKER}
FUNC_NAMES = frozenset(FUNCS)

__all__ = ["BUILTINS", "DOCKER", "FUNCS", "FUNC_NAMES", "HEADER", "Func", "FuncError",
           "go_json", "sorted_keys", "truth"]
