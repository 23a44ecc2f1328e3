"""JSON text <-> Python values for the store's records and the runtime's
messages, through the stdlib's own C codec without the `json` package.

`import json` imports `re` (json.decoder and json.encoder compile regular
expressions at import), and `re` imports `enum`, `functools` and
`collections`, all kept off the run path (docs/ARCHITECTURE.md, Start-up
rules). `_json` is the C
accelerator json itself uses (json/scanner.py `c_make_scanner`,
json/encoder.py `c_make_encoder`), taken from rs_docker.cpython (which
falls back to json's pure-Python scanner and encoder): driven here with
json's defaults it reads and writes exactly what json.loads /
json.dumps(separators=...) do.

Pretty-printed output (`inspect`, `--format json`) stays with `json`:
the C encoder does not indent.

Documents from outside (a registry, an image, an archive) may nest without
end: the C scanner recurses once per level and stops at the interpreter's
recursion limit with a RecursionError, which is not a ValueError and would
escape every parser's error handling. loads turns it into a ValueError,
and `max_depth` refuses a document that parsed but nests deeper than any
real one does, before code that walks it recursively (repr, the encoder)
meets the same limit.
"""

from __future__ import annotations

from rs_docker import cpython as _json

_WHITESPACE = " \t\n\r"
_CONSTANTS = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}


class _ScanContext:
    """What the C scanner reads from its context (json.decoder.JSONDecoder's
    attributes with their defaults)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = _CONSTANTS.__getitem__


def _default(o):
    raise TypeError(f"Object of type {o.__class__.__name__} is not JSON serializable")


_scan = _json.make_scanner(_ScanContext())

# Deeper than any manifest, index, image config or archive manifest nests
# (they stop at 5 or 6 levels), and far below the recursion limit (1000).
MAX_DEPTH = 100


class TooDeep(ValueError):
    """A JSON document nests deeper than allowed."""


def loads(text: str | bytes, max_depth: int | None = None):
    """json.loads(text) for str or UTF-8 bytes; ValueError on bad JSON,
    TooDeep (a ValueError) when arrays and objects nest beyond the
    interpreter's recursion limit or, if given, beyond max_depth levels."""
    if isinstance(text, (bytes, bytearray)):
        text = text.decode("utf-8")
    try:
        value = _loads(text)
    except RecursionError:
        raise TooDeep("invalid JSON: nested too deeply") from None
    if max_depth is not None and _deeper(value, max_depth):
        raise TooDeep(f"invalid JSON: nested deeper than {max_depth} levels")
    return value


def loads_any(data: bytes, max_depth: int | None = None):
    """json.loads(data), which also reads a UTF-8 BOM, UTF-16/32 and lone
    surrogates (what jsonio.loads refuses), with loads' depth rules."""
    import json

    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep("invalid JSON: nested too deeply") from None
    if max_depth is not None and _deeper(value, max_depth):
        raise TooDeep(f"invalid JSON: nested deeper than {max_depth} levels")
    return value


def _loads(text: str):
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan(text, start)
    except StopIteration as e:
        raise ValueError(f"Expecting value: char {e.value}") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError(f"Extra data: char {end}")
    return value


def _deeper(value, limit: int) -> bool:
    """Whether arrays and objects in value nest more than limit levels (a
    walk with its own stack: no recursion)."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, (dict, list)):
                if depth >= limit:
                    return True
                stack.append((child, depth + 1))
    return False


def dumps(value, compact: bool = True, sort_keys: bool = False) -> str:
    """json.dumps(value, sort_keys=...) with separators (",", ":") (compact)
    or json's default (", ", ": "); ASCII output, circular references refused."""
    sep = (",", ":") if compact else (", ", ": ")
    if isinstance(value, str):
        return _json.encode_basestring_ascii(value)
    # A fresh markers dict each time, as json does: the encoder leaves ids
    # in it when it raises halfway.
    encode = _json.make_encoder({}, _default, _json.encode_basestring_ascii, None, sep[1],
                                sep[0], sort_keys, False, True)
    return "".join(encode(value, 0))
