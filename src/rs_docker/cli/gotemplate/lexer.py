"""Go text/template's lexer (text/template/parse/lex.go): the template
text cut into items, each with its offset in the text (for Go's
`template: NAME:LINE:COL` error positions)."""

from __future__ import annotations

from rs_docker.cli.gotemplate.errors import ParseError

# Item kinds.
TEXT, LEFT, RIGHT, EOF = "text", "{{", "}}", "EOF"
FIELD, VARIABLE, IDENT, KEYWORD, DOT = "field", "variable", "identifier", "keyword", "."
STRING, RAW, CHAR, NUMBER, BOOL, NIL = "string", "raw string", "char", "number", "bool", "nil"
PIPE, LPAREN, RPAREN, DECLARE, ASSIGN, SPACE, COMMA = "|", "(", ")", ":=", "=", "space", ","

KEYWORDS = frozenset({"block", "break", "continue", "define", "else", "end", "if", "range",
                      "template", "with"})
_SPACE = " \t\r\n"
_ALNUM = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class Item:
    __slots__ = ("kind", "val", "pos", "line")

    def __init__(self, kind: str, val: str, pos: int, line: int):
        self.kind, self.val, self.pos, self.line = kind, val, pos, line

    def __repr__(self) -> str:
        return f"Item({self.kind}, {self.val!r})"


def _space_at(text: str, k: int) -> bool:
    return k < len(text) and text[k] in _SPACE


def _alnum(c: str) -> bool:
    return c in _ALNUM or (c.isalnum() and ord(c) > 127)


def lex(name: str, text: str) -> list[Item]:
    """Every item of `text`, ending with EOF; a ParseError for what Go's
    lexer refuses (unclosed action, bad character, unterminated string)."""
    items: list[Item] = []
    i, n = 0, len(text)

    def line_at(pos: int) -> int:
        return 1 + text.count("\n", 0, pos)

    def emit(kind: str, start: int, end: int) -> None:
        items.append(Item(kind, text[start:end], start, line_at(start)))

    def fail(pos: int, message: str):
        raise ParseError(f"template: {name}:{line_at(pos)}: {message}")

    trim_next = False
    while i < n:
        j = text.find("{{", i)
        end = n if j < 0 else j
        start = i
        if trim_next:
            while start < end and text[start] in _SPACE:
                start += 1
            trim_next = False
        stop = end
        left_trim = j >= 0 and text[j + 2:j + 3] == "-" and _space_at(text, j + 3)
        if left_trim:
            while stop > start and text[stop - 1] in _SPACE:
                stop -= 1
        if stop > start:
            emit(TEXT, start, stop)
        if j < 0:
            break
        i = j + 2
        if left_trim:
            i += 2
        # A comment: {{/* ... */}}, alone in its action.
        k = i
        while left_trim and k < n and text[k] in _SPACE:
            k += 1
        if text.startswith("/*", k):
            close = text.find("*/", k + 2)
            if close < 0:
                fail(j, "unclosed comment")
            after = close + 2
            if text.startswith("}}", after):
                i = after + 2
            elif _space_at(text, after) and text.startswith("-}}", after + 1):
                i, trim_next = after + 4, True
            else:
                fail(j, "comment ends before closing delimiter")
            continue
        items.append(Item(LEFT, "{{", j, line_at(j)))
        i, trim_next = _lex_action(text, i, items, emit, fail, line_at)
    items.append(Item(EOF, "", n, line_at(n)))
    return items


def _lex_action(text, i, items, emit, fail, line_at):
    """Items of one action from offset i to its `}}`: (offset after it,
    whether it trims the following text)."""
    n = len(text)
    depth = 0
    start_action = i
    while True:
        if i >= n:
            fail(start_action, "unclosed action")
        c = text[i]
        if c in _SPACE:
            k = i
            while k < n and text[k] in _SPACE:
                k += 1
            if text.startswith("-}}", k) and k > i:
                if depth:
                    fail(i, "unclosed left paren")
                items.append(Item(RIGHT, "}}", k + 1, line_at(k + 1)))
                return k + 3, True
            emit(SPACE, i, k)
            i = k
            continue
        if text.startswith("}}", i):
            if depth:
                fail(i, "unclosed left paren")
            items.append(Item(RIGHT, "}}", i, line_at(i)))
            return i + 2, False
        if text.startswith(":=", i):
            emit(DECLARE, i, i + 2)
            i += 2
        elif c == "=":
            emit(ASSIGN, i, i + 1)
            i += 1
        elif c == "|":
            emit(PIPE, i, i + 1)
            i += 1
        elif c == ",":
            emit(COMMA, i, i + 1)
            i += 1
        elif c == "(":
            depth += 1
            emit(LPAREN, i, i + 1)
            i += 1
        elif c == ")":
            depth -= 1
            if depth < 0:
                fail(i, "unexpected right paren")
            emit(RPAREN, i, i + 1)
            i += 1
        elif c == '"':
            k = i + 1
            while True:
                if k >= n or text[k] == "\n":
                    fail(i, "unterminated quoted string")
                if text[k] == "\\":
                    k += 2
                    continue
                if text[k] == '"':
                    break
                k += 1
            emit(STRING, i, k + 1)
            i = k + 1
        elif c == "`":
            k = text.find("`", i + 1)
            if k < 0:
                fail(i, "unterminated raw quoted string")
            emit(RAW, i, k + 1)
            i = k + 1
        elif c == "'":
            k = i + 1
            while True:
                if k >= n or text[k] == "\n":
                    fail(i, "unterminated character constant")
                if text[k] == "\\":
                    k += 2
                    continue
                if text[k] == "'":
                    break
                k += 1
            emit(CHAR, i, k + 1)
            i = k + 1
        elif c == "$":
            k = i + 1
            while k < n and _alnum(text[k]):
                k += 1
            emit(VARIABLE, i, k)
            i = k
        elif c == ".":
            if i + 1 < n and text[i + 1].isdigit():
                i = _number(text, i, emit, fail)
                continue
            k = i + 1
            while k < n and _alnum(text[k]):
                k += 1
            emit(DOT if k == i + 1 else FIELD, i, k)
            i = k
        elif c.isdigit() or (c in "+-" and i + 1 < n and (text[i + 1].isdigit() or
                                                          text[i + 1] == ".")):
            i = _number(text, i, emit, fail)
        elif _alnum(c):
            k = i
            while k < n and _alnum(text[k]):
                k += 1
            word = text[i:k]
            if word in KEYWORDS:
                kind = KEYWORD
            elif word in ("true", "false"):
                kind = BOOL
            elif word == "nil":
                kind = NIL
            else:
                kind = IDENT
            emit(kind, i, k)
            i = k
        else:
            fail(i, f"unrecognized character in action: U+{ord(c):04X} {c!r}")


def _number(text, i, emit, fail) -> int:
    n = len(text)
    k = i
    if text[k] in "+-":
        k += 1
    digits = "0123456789_"
    if text.startswith(("0x", "0X"), k):
        k += 2
        digits = "0123456789abcdefABCDEF_"
    elif text.startswith(("0o", "0O"), k):
        k += 2
        digits = "01234567_"
    elif text.startswith(("0b", "0B"), k):
        k += 2
        digits = "01_"
    while k < n and text[k] in digits:
        k += 1
    if k < n and text[k] == ".":
        k += 1
        while k < n and text[k] in digits:
            k += 1
    if k < n and text[k] in ("eE" if "a" not in digits else "pP"):
        k += 1
        if k < n and text[k] in "+-":
            k += 1
        while k < n and text[k].isdigit():
            k += 1
    if k < n and text[k] == "i":
        k += 1
    if k < n and _alnum(text[k]):
        fail(i, f"bad number syntax: {text[i:k + 1]!r}".replace("'", '"'))
    emit(NUMBER, i, k)
    return k
