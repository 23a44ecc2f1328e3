"""Values printed as Go's fmt package prints them: Sprint (the `%v` of a
template action), Sprintf's verbs, strconv.Quote; the value model of the
template engine (NO_VALUE, Struct) lives here too."""

from __future__ import annotations

import math


class _NoValue:
    """Go's invalid reflect.Value: a missing map key; prints <no value>."""

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


class Struct(dict):
    """A dict standing for a Go struct: a field it lacks is an error (not
    <no value>), `methods` are called with the template's arguments
    (`{{.Label "k"}}`), `go_type` names it in error messages."""

    def __init__(self, fields: dict, go_type: str, methods: dict | None = None):
        super().__init__(fields)
        self.go_type = go_type
        self.methods = methods or {}


def type_name(v) -> str:
    """Go's name of a value's type as errors print it."""
    if isinstance(v, Struct):
        return v.go_type
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, float):
        return "float64"
    if isinstance(v, str):
        return "string"
    if isinstance(v, (list, tuple)):
        return "[]string" if v and all(isinstance(x, str) for x in v) else "[]interface {}"
    if isinstance(v, dict):
        return "map[string]interface {}"
    return "interface {}"


def format_float(f: float, verb: str = "g", prec: int = -1) -> str:
    """strconv.FormatFloat(f, verb, prec, 64) for g, e, f."""
    if math.isinf(f):
        return "+Inf" if f > 0 else "-Inf"
    if math.isnan(f):
        return "NaN"
    if verb in "eE":
        text = repr_e(f, prec)
    elif verb in "fF":
        text = _shortest_fixed(f) if prec < 0 else f"{f:.{prec}f}"
    elif prec < 0:
        from decimal import Decimal

        # strconv's shortest %g: %e from a decimal exponent below -4 or from 6.
        exp = Decimal(repr(f)).adjusted() if f else 0
        text = repr_e(f, -1) if exp < -4 or exp >= 6 else _shortest_fixed(f)
    else:
        text = f"{f:.{prec or 1}g}"
    return text.upper() if verb in "EG" else text


def _shortest_fixed(f: float) -> str:
    r = repr(f)
    if "e" in r or "E" in r:
        from decimal import Decimal

        r = format(Decimal(r), "f")
    if r.endswith(".0"):
        r = r[:-2]
    return r


def repr_e(f: float, prec: int) -> str:
    if prec < 0:
        from decimal import Decimal

        d = Decimal(repr(f)).normalize()
        sign, digits, exp = d.as_tuple()
        mant = "".join(map(str, digits))
        e = exp + len(mant) - 1
        body = mant[0] + ("." + mant[1:] if len(mant) > 1 else "")
        return ("-" if sign else "") + body + f"e{'-' if e < 0 else '+'}{abs(e):02d}"
    return f"{f:.{prec}e}"


def sprint_value(v, verb: str = "v", plus: bool = False) -> str:
    """fmt's %v of one value (nested values inside lists and maps too)."""
    if v is NO_VALUE:
        return "<no value>"
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float(v, "g", -1) if verb == "v" else format_float(v, verb, -1)
    if isinstance(v, str):
        return v
    if isinstance(v, Struct):
        if plus:
            return "{" + " ".join(f"{k}:{sprint_value(x, verb, plus)}"
                                  for k, x in v.items()) + "}"
        return "{" + " ".join(sprint_value(x, verb) for x in v.values()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + " ".join(sprint_value(x, verb, plus) for x in v) + "]"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{sprint_value(k)}:{sprint_value(v[k], verb, plus)}"
                                 for k in sorted_keys(v)) + "]"
    return str(v)


def sorted_keys(d: dict) -> list:
    """Map keys in Go's order (fmt and range sort them): numbers by value,
    strings by bytes."""
    return sorted(d, key=lambda k: (0, k, "") if isinstance(k, (int, float))
                  and not isinstance(k, bool) else (1, 0, str(k).encode()))


def sprint(args: list) -> str:
    """fmt.Sprint: a space between operands when neither is a string."""
    out = []
    for i, a in enumerate(args):
        if i > 0 and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(sprint_value(a))
    return "".join(out)


def sprintln(args: list) -> str:
    return " ".join(sprint_value(a) for a in args) + "\n"


def quote(s: str, ascii_only: bool = False) -> str:
    """strconv.Quote."""
    out = ['"']
    for c in s:
        o = ord(c)
        if c == '"':
            out.append('\\"')
        elif c == "\\":
            out.append("\\\\")
        elif c in "\a\b\f\n\r\t\v":
            out.append({"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r",
                        "\t": "\\t", "\v": "\\v"}[c])
        elif o < 0x20 or o == 0x7F:
            out.append(f"\\x{o:02x}")
        elif o > 0x7E and (ascii_only or not c.isprintable()):
            out.append(f"\\u{o:04x}" if o <= 0xFFFF else f"\\U{o:08x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _bad(verb: str, v) -> str:
    if v is None or v is NO_VALUE:
        return f"%!{verb}(<nil>)"
    return f"%!{verb}({type_name(v)}={sprint_value(v)})"


def _pad(text: str, width: int | None, minus: bool, zero: bool = False) -> str:
    if width is None or len(text) >= width:
        return text
    if minus:
        return text + " " * (width - len(text))
    if zero:
        sign = text[0] if text[:1] in "+-" else ""
        return sign + "0" * (width - len(text)) + text[len(sign):]
    return " " * (width - len(text)) + text


def _format_int(v: int, verb: str, flags: str, prec: int | None) -> str:
    base = {"d": 10, "x": 16, "X": 16, "o": 8, "O": 8, "b": 2}[verb]
    digits = {10: str(abs(v)), 16: f"{abs(v):x}", 8: f"{abs(v):o}", 2: f"{abs(v):b}"}[base]
    if verb == "X":
        digits = digits.upper()
    if prec is not None:
        digits = "" if prec == 0 and v == 0 else digits.rjust(prec, "0")
    if "#" in flags:
        digits = {"x": "0x", "X": "0X", "o": "0", "b": ""}.get(verb, "") + digits
    if verb == "O":
        digits = "0o" + digits
    sign = "-" if v < 0 else ("+" if "+" in flags else (" " if " " in flags else ""))
    return sign + digits


def _format_one(verb: str, flags: str, width, prec, v) -> str:
    minus, zero = "-" in flags, "0" in flags and "-" not in flags
    if verb == "v":
        if isinstance(v, float):
            text = format_float(v, "g", -1 if prec is None else prec)
            return _pad(("+" if "+" in flags and v >= 0 else "") + text, width, minus, zero)
        if isinstance(v, int) and not isinstance(v, bool):
            return _pad(_format_int(v, "d", flags, prec), width, minus, zero)
        text = sprint_value(v, "v", plus="+" in flags)
        if isinstance(v, str) and prec is not None:
            text = text[:prec]
        return _pad(text, width, minus)
    if v is NO_VALUE:
        return f"%!{verb}(<nil>)"
    if verb == "s":
        if isinstance(v, str):
            text = v if prec is None else v[:prec]
            return _pad(text, width, minus, zero)
        if isinstance(v, (list, tuple)):
            return "[" + " ".join(_format_one(verb, flags, width, prec, x) for x in v) + "]"
        if isinstance(v, dict) and not isinstance(v, Struct):
            return "map[" + " ".join(f"{_format_one(verb, flags, width, prec, k)}:"
                                     f"{_format_one(verb, flags, width, prec, v[k])}"
                                     for k in sorted_keys(v)) + "]"
        return _bad(verb, v)
    if verb == "q":
        if isinstance(v, str):
            return _pad(quote(v, "+" in flags) if "#" not in flags or "`" in v
                        else "`" + v + "`", width, minus)
        if isinstance(v, int) and not isinstance(v, bool):
            return _pad("'" + quote(chr(v))[1:-1].replace("\\\"", '"')
                        .replace("'", "\\'") + "'", width, minus)
        if isinstance(v, (list, tuple)):
            return "[" + " ".join(_format_one(verb, flags, width, prec, x) for x in v) + "]"
        return _bad(verb, v)
    if verb == "t":
        if isinstance(v, bool):
            return _pad("true" if v else "false", width, minus)
        return _bad(verb, v)
    if verb in "dboOxX" and isinstance(v, int) and not isinstance(v, bool):
        return _pad(_format_int(v, verb, flags, prec), width, minus, zero and prec is None)
    if verb in "xX" and isinstance(v, str):
        text = v.encode().hex()
        return _pad(text.upper() if verb == "X" else text, width, minus)
    if verb == "c" and isinstance(v, int) and not isinstance(v, bool):
        return _pad(chr(v), width, minus)
    if verb == "U" and isinstance(v, int) and not isinstance(v, bool):
        return _pad(f"U+{v:04X}", width, minus)
    if verb in "eEfFgG" and isinstance(v, (int, float)) and not isinstance(v, bool):
        if isinstance(v, int):
            return _bad(verb, v)
        p = (6 if verb in "eEfF" else -1) if prec is None else prec
        text = format_float(v, verb, p)
        if "+" in flags and v >= 0:
            text = "+" + text
        return _pad(text, width, minus, zero)
    if isinstance(v, (list, tuple)) and verb in "dboxX":
        return "[" + " ".join(_format_one(verb, flags, width, prec, x) for x in v) + "]"
    return _bad(verb, v)


def sprintf(fmt: str, args: list) -> str:
    """fmt.Sprintf with Go's verbs, flags, width and precision (`*` too),
    `%[n]` indexes, and Go's %!verb(type=value) / %!v(MISSING) / EXTRA
    marks for what does not fit."""
    out, i, n, argi = [], 0, len(fmt), 0
    used_index = False
    while i < n:
        c = fmt[i]
        if c != "%":
            j = fmt.find("%", i)
            j = n if j < 0 else j
            out.append(fmt[i:j])
            i = j
            continue
        i += 1
        if i >= n:
            out.append("%!(NOVERB)")
            break
        flags = ""
        while i < n and fmt[i] in "+-# 0":
            flags += fmt[i]
            i += 1
        if i < n and fmt[i] == "[":
            close = fmt.find("]", i)
            if close > 0 and fmt[i + 1:close].isdigit():
                argi = int(fmt[i + 1:close]) - 1
                used_index = True
                i = close + 1
        width = None
        if i < n and fmt[i] == "*":
            i += 1
            if argi < len(args) and isinstance(args[argi], int):
                width = args[argi]
                if width < 0:
                    flags, width = flags + "-", -width
            else:
                out.append("%!(BADWIDTH)")
            argi += 1
        else:
            start = i
            while i < n and fmt[i].isdigit():
                i += 1
            if i > start:
                width = int(fmt[start:i])
        prec = None
        if i < n and fmt[i] == ".":
            i += 1
            if i < n and fmt[i] == "*":
                i += 1
                if argi < len(args) and isinstance(args[argi], int):
                    prec = args[argi]
                else:
                    out.append("%!(BADPREC)")
                argi += 1
            else:
                start = i
                while i < n and fmt[i].isdigit():
                    i += 1
                prec = int(fmt[start:i] or "0")
        if i >= n:
            out.append("%!(NOVERB)")
            break
        verb = fmt[i]
        i += 1
        if verb == "%":
            out.append("%")
            continue
        if argi >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        out.append(_format_one(verb, flags, width, prec, args[argi]))
        argi += 1
    if not used_index and argi < len(args):
        extra = ", ".join("<nil>" if a is None else f"{type_name(a)}={sprint_value(a)}"
                          for a in args[argi:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)
