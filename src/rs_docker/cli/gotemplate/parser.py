"""Go text/template's parser (text/template/parse): items -> a tree of
nodes, each keeping its offset for error positions and printing as Go's
Node.String() does (the `<...>` of an execution error)."""

from __future__ import annotations

from rs_docker.cli.gotemplate import lexer as lx
from rs_docker.cli.gotemplate.errors import ParseError


class Node:
    pos = 0


class ListNode(Node):
    def __init__(self, pos: int):
        self.pos, self.nodes = pos, []

    def __str__(self) -> str:
        return "".join(str(n) for n in self.nodes)


class TextNode(Node):
    def __init__(self, pos: int, text: str):
        self.pos, self.text = pos, text

    def __str__(self) -> str:
        return self.text


class PipeNode(Node):
    def __init__(self, pos: int, decl: list, is_assign: bool):
        self.pos, self.decl, self.is_assign, self.cmds = pos, decl, is_assign, []

    def __str__(self) -> str:
        head = ""
        if self.decl:
            head = ", ".join(str(v) for v in self.decl) + (" = " if self.is_assign else " := ")
        return head + " | ".join(str(c) for c in self.cmds)


class ActionNode(Node):
    def __init__(self, pos: int, pipe: PipeNode):
        self.pos, self.pipe = pos, pipe

    def __str__(self) -> str:
        return "{{" + str(self.pipe) + "}}"


class CommandNode(Node):
    def __init__(self, pos: int):
        self.pos, self.args = pos, []

    def __str__(self) -> str:
        return " ".join(f"({a})" if isinstance(a, PipeNode) else str(a) for a in self.args)


class IdentifierNode(Node):
    def __init__(self, pos: int, name: str):
        self.pos, self.name = pos, name

    def __str__(self) -> str:
        return self.name


class VariableNode(Node):
    def __init__(self, pos: int, idents: list[str]):
        self.pos, self.idents = pos, idents   # ["$x", "Field", ...]

    def __str__(self) -> str:
        return ".".join(self.idents)


class DotNode(Node):
    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "."


class NilNode(Node):
    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "nil"


class FieldNode(Node):
    def __init__(self, pos: int, idents: list[str]):
        self.pos, self.idents = pos, idents

    def __str__(self) -> str:
        return "".join("." + i for i in self.idents)


class ChainNode(Node):
    def __init__(self, pos: int, node: Node):
        self.pos, self.node, self.fields = pos, node, []

    def __str__(self) -> str:
        head = f"({self.node})" if isinstance(self.node, PipeNode) else str(self.node)
        return head + "".join("." + f for f in self.fields)


class BoolNode(Node):
    def __init__(self, pos: int, value: bool):
        self.pos, self.value = pos, value

    def __str__(self) -> str:
        return "true" if self.value else "false"


class NumberNode(Node):
    def __init__(self, pos: int, text: str, value):
        self.pos, self.text, self.value = pos, text, value

    def __str__(self) -> str:
        return self.text


class StringNode(Node):
    def __init__(self, pos: int, quoted: str, text: str):
        self.pos, self.quoted, self.text = pos, quoted, text

    def __str__(self) -> str:
        return self.quoted


class BranchNode(Node):
    keyword = ""

    def __init__(self, pos: int, pipe: PipeNode, body: ListNode, else_: ListNode | None):
        self.pos, self.pipe, self.body, self.else_ = pos, pipe, body, else_

    def __str__(self) -> str:
        tail = f"{{{{else}}}}{self.else_}" if self.else_ is not None else ""
        return f"{{{{{self.keyword} {self.pipe}}}}}{self.body}{tail}{{{{end}}}}"


class IfNode(BranchNode):
    keyword = "if"


class WithNode(BranchNode):
    keyword = "with"


class RangeNode(BranchNode):
    keyword = "range"


class TemplateNode(Node):
    def __init__(self, pos: int, name: str, pipe: PipeNode | None):
        self.pos, self.name, self.pipe = pos, name, pipe

    def __str__(self) -> str:
        quoted = '"' + self.name + '"'
        return f"{{{{template {quoted}{' ' + str(self.pipe) if self.pipe else ''}}}}}"


class BreakNode(Node):
    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "{{break}}"


class ContinueNode(Node):
    def __init__(self, pos: int):
        self.pos = pos

    def __str__(self) -> str:
        return "{{continue}}"


class _End(Node):
    def __init__(self, pos: int):
        self.pos = pos


class _Else(Node):
    def __init__(self, pos: int):
        self.pos = pos


def unquote(text: str) -> str:
    """A Go interpreted string literal's value (strconv.Unquote)."""
    out, i = [], 1
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", "'": "'", '"': '"'}
    end = len(text) - 1
    while i < end:
        c = text[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        e = text[i + 1] if i + 1 < end else ""
        if e in simple:
            out.append(simple[e])
            i += 2
        elif e in "xuU" and e:
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = text[i + 2:i + 2 + width]
            if len(digits) != width or any(d not in "0123456789abcdefABCDEF" for d in digits):
                raise ValueError(text)
            out.append(chr(int(digits, 16)))
            i += 2 + width
        elif e and e in "01234567":
            digits = text[i + 1:i + 4]
            out.append(chr(int(digits, 8)))
            i += 4
        else:
            raise ValueError(text)
    return "".join(out)


def _number_value(text: str):
    """Go's NumberNode value: an int when the constant is an integer, a
    float otherwise (1.0 is the float 1)."""
    t = text.replace("_", "")
    if t.endswith("i"):
        raise ValueError(text)
    sign = -1 if t.startswith("-") else 1
    body = t.lstrip("+-")
    low = body.lower()
    if low.startswith(("0x", "0o", "0b")) and "." not in low and "p" not in low:
        return sign * int(body, 0)
    if all(c.isdigit() for c in body):
        if len(body) > 1 and body.startswith("0"):
            return sign * int(body, 8)
        return sign * int(body)
    return sign * float(body)


class Parser:
    """One template text -> its root ListNode plus its {{define}}s."""

    def __init__(self, name: str, text: str, funcs):
        self.name, self.text, self.funcs = name, text, funcs
        self.items = lx.lex(name, text)
        self.i = 0
        self.vars = ["$"]
        self.defines: dict[str, ListNode] = {}

    # -- items ----------------------------------------------------------------

    def next(self) -> lx.Item:
        item = self.items[self.i]
        self.i += 1
        return item

    def backup(self) -> None:
        self.i -= 1

    def peek(self) -> lx.Item:
        return self.items[self.i]

    def next_non_space(self) -> lx.Item:
        item = self.next()
        while item.kind == lx.SPACE:
            item = self.next()
        return item

    def peek_non_space(self) -> lx.Item:
        item = self.next_non_space()
        self.backup()
        return item

    def errorf(self, message: str, item: lx.Item | None = None):
        item = item or self.items[max(self.i - 1, 0)]
        raise ParseError(f"template: {self.name}:{item.line}: {message}")

    def expect(self, kind: str, context: str) -> lx.Item:
        item = self.next_non_space()
        if item.kind != kind:
            self.unexpected(item, context)
        return item

    def unexpected(self, item: lx.Item, context: str):
        if item.kind == lx.EOF:
            self.errorf(f"unexpected EOF in {context}", item)
        desc = f"<{item.val}>" if item.kind in (lx.KEYWORD,) else repr_item(item)
        self.errorf(f"unexpected {desc} in {context}", item)

    # -- structure --------------------------------------------------------------

    def parse(self) -> tuple[ListNode, dict[str, ListNode]]:
        root = ListNode(0)
        while self.peek().kind != lx.EOF:
            if self.peek().kind == lx.LEFT:
                save = self.i
                self.next()
                word = self.next_non_space()
                if word.kind == lx.KEYWORD and word.val == "define":
                    self.parse_definition()
                    continue
                self.i = save
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                self.errorf(f"unexpected {{{{{'end' if isinstance(node, _End) else 'else'}}}}}")
            root.nodes.append(node)
        return root, self.defines

    def parse_definition(self) -> None:
        name = self.expect_string("define clause")
        self.expect(lx.RIGHT, "define clause")
        saved, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        if not isinstance(end, _End):
            self.errorf("unexpected {{else}} in define clause")
        self.vars = saved
        self.add_define(name, body)

    def add_define(self, name: str, body: ListNode) -> None:
        # Go: a redefinition replaces an empty template, any other is an error.
        old = self.defines.get(name)
        if old is not None and str(old).strip() and str(body).strip():
            self.errorf(f"template: multiple definition of template {name!r}".replace("'", '"'))
        if old is None or str(body).strip():
            self.defines[name] = body

    def expect_string(self, context: str) -> str:
        item = self.next_non_space()
        if item.kind == lx.STRING:
            try:
                return unquote(item.val)
            except ValueError:
                self.errorf(f"invalid syntax: {item.val}")
        if item.kind == lx.RAW:
            return item.val[1:-1]
        self.unexpected(item, context)
        return ""

    def item_list(self) -> tuple[ListNode, Node]:
        body = ListNode(self.peek_non_space().pos)
        while self.peek_non_space().kind != lx.EOF:
            node = self.text_or_action()
            if isinstance(node, (_End, _Else)):
                return body, node
            body.nodes.append(node)
        self.errorf("unexpected EOF")
        raise AssertionError

    def text_or_action(self) -> Node:
        item = self.next_non_space()
        if item.kind == lx.TEXT:
            return TextNode(item.pos, item.val)
        if item.kind == lx.LEFT:
            return self.action()
        self.unexpected(item, "input")
        raise AssertionError

    def action(self) -> Node:
        item = self.next_non_space()
        if item.kind == lx.KEYWORD:
            word = item.val
            if word == "end":
                self.expect(lx.RIGHT, "end")
                return _End(item.pos)
            if word == "else":
                return self.else_control(item)
            if word == "if":
                return self.control(IfNode, item, "if")
            if word == "with":
                return self.control(WithNode, item, "with")
            if word == "range":
                return self.control(RangeNode, item, "range")
            if word == "template":
                return self.template_control(item)
            if word == "block":
                return self.block_control(item)
            if word in ("break", "continue"):
                if not self.range_depth:
                    self.errorf(f"{{{{{word}}}}} outside {{{{range}}}}")
                self.expect(lx.RIGHT, word)
                return BreakNode(item.pos) if word == "break" else ContinueNode(item.pos)
        self.backup()
        pos = self.peek().pos
        return ActionNode(pos, self.pipeline("command", lx.RIGHT))

    range_depth = 0

    def else_control(self, item: lx.Item) -> Node:
        nxt = self.peek_non_space()
        if nxt.kind == lx.KEYWORD and nxt.val in ("if", "with"):
            # {{else if x}}: the pending `if` starts a nested if (Go's special case).
            return _Else(item.pos)
        self.expect(lx.RIGHT, "else")
        return _Else(item.pos)

    def control(self, cls, item: lx.Item, context: str) -> Node:
        mark = len(self.vars)
        pipe = self.pipeline(context, lx.RIGHT)
        if cls is RangeNode:
            self.range_depth += 1
        body, end = self.item_list()
        if cls is RangeNode:
            self.range_depth -= 1
        else_list = None
        if isinstance(end, _Else):
            nxt = self.peek_non_space()
            if cls is not RangeNode and nxt.kind == lx.KEYWORD and nxt.val == context:
                # {{if a}}x{{else if b}}y{{end}} == {{if a}}x{{else}}{{if b}}y{{end}}{{end}}
                self.next_non_space()
                else_list = ListNode(nxt.pos)
                else_list.nodes.append(self.control(cls, nxt, context))
            else:
                else_list, end = self.item_list()
                if not isinstance(end, _End):
                    self.errorf("expected end; found {{else}}")
        del self.vars[mark:]
        return cls(pipe.pos, pipe, body, else_list)

    def template_control(self, item: lx.Item) -> Node:
        item = self.peek_non_space()   # Go places the node at its name
        name = self.expect_string("template clause")
        pipe = None
        if self.peek_non_space().kind != lx.RIGHT:
            pipe = self.pipeline("template clause", lx.RIGHT)
        else:
            self.next_non_space()
        return TemplateNode(item.pos, name, pipe)

    def block_control(self, item: lx.Item) -> Node:
        item = self.peek_non_space()
        name = self.expect_string("block clause")
        pipe = self.pipeline("block clause", lx.RIGHT)
        saved, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved
        if not isinstance(end, _End):
            self.errorf("unexpected {{else}} in block clause")
        self.add_define(name, body)
        return TemplateNode(item.pos, name, pipe)

    # -- pipelines --------------------------------------------------------------

    def pipeline(self, context: str, end: str) -> PipeNode:
        start = self.peek_non_space()
        pipe = PipeNode(start.pos, [], False)
        # Declarations: $x := ..., $x = ..., range's $i, $e := ...
        if start.kind == lx.VARIABLE:
            save = self.i
            var = self.next_non_space()
            nxt = self.next_non_space()
            if nxt.kind in (lx.DECLARE, lx.ASSIGN):
                pipe.is_assign = nxt.kind == lx.ASSIGN
                pipe.decl.append(VariableNode(var.pos, [var.val]))
                if not pipe.is_assign:
                    self.vars.append(var.val)
                elif var.val not in self.vars:
                    self.errorf(f"undefined variable \"{var.val}\"")
            elif nxt.kind == lx.COMMA and context == "range":
                second = self.next_non_space()
                op = self.next_non_space()
                if second.kind != lx.VARIABLE or op.kind not in (lx.DECLARE, lx.ASSIGN):
                    self.errorf("range can only initialize variables")
                pipe.is_assign = op.kind == lx.ASSIGN
                pipe.decl += [VariableNode(var.pos, [var.val]),
                              VariableNode(second.pos, [second.val])]
                if not pipe.is_assign:
                    self.vars += [var.val, second.val]
            else:
                self.i = save
        while True:
            item = self.next_non_space()
            if item.kind == end:
                self.check_pipeline(pipe, context)
                return pipe
            if item.kind in (lx.BOOL, lx.CHAR, lx.DOT, lx.FIELD, lx.IDENT, lx.NUMBER, lx.NIL,
                             lx.RAW, lx.STRING, lx.VARIABLE, lx.LPAREN):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(item, context)

    def check_pipeline(self, pipe: PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        for i, cmd in enumerate(pipe.cmds[1:]):
            if isinstance(cmd.args[0], (BoolNode, DotNode, NilNode, NumberNode, StringNode)):
                self.errorf(f"non executable command in pipeline stage {i + 2}")

    def command(self) -> CommandNode:
        cmd = CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            item = self.next()
            if item.kind == lx.SPACE:
                continue
            if item.kind in (lx.RIGHT, lx.RPAREN):
                self.backup()
            elif item.kind != lx.PIPE:
                self.unexpected(item, "operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> Node | None:
        node = self.term()
        if node is None:
            return None
        if self.peek().kind == lx.FIELD:
            chain = ChainNode(self.peek().pos, node)
            while self.peek().kind == lx.FIELD:
                chain.fields.append(self.next().val[1:])
            if isinstance(node, FieldNode):
                return FieldNode(node.pos, node.idents + chain.fields)
            if isinstance(node, VariableNode):
                return VariableNode(node.pos, node.idents + chain.fields)
            if isinstance(node, (BoolNode, StringNode, NumberNode, NilNode, DotNode)):
                self.errorf(f"unexpected . after term \"{node}\"")
            return chain
        return node

    def term(self) -> Node | None:
        item = self.next_non_space()
        kind = item.kind
        if kind == lx.IDENT:
            if item.val not in self.funcs:
                self.errorf(f"function \"{item.val}\" not defined")
            return IdentifierNode(item.pos, item.val)
        if kind == lx.DOT:
            return DotNode(item.pos)
        if kind == lx.NIL:
            return NilNode(item.pos)
        if kind == lx.VARIABLE:
            if item.val not in self.vars:
                self.errorf(f"undefined variable \"{item.val}\"")
            return VariableNode(item.pos, [item.val])
        if kind == lx.FIELD:
            return FieldNode(item.pos, [item.val[1:]])
        if kind == lx.BOOL:
            return BoolNode(item.pos, item.val == "true")
        if kind == lx.NUMBER:
            try:
                return NumberNode(item.pos, item.val, _number_value(item.val))
            except ValueError:
                self.errorf(f"illegal number syntax: \"{item.val}\"")
        if kind == lx.CHAR:
            try:
                value = unquote('"' + item.val[1:-1] + '"')
            except ValueError:
                value = ""
            if len(value) != 1:
                self.errorf(f"malformed character constant: {item.val}")
            return NumberNode(item.pos, item.val, ord(value))
        if kind == lx.LPAREN:
            pipe = self.pipeline("parenthesized pipeline", lx.RPAREN)
            return pipe
        if kind in (lx.STRING, lx.RAW):
            if kind == lx.RAW:
                return StringNode(item.pos, item.val, item.val[1:-1])
            try:
                return StringNode(item.pos, item.val, unquote(item.val))
            except ValueError:
                self.errorf(f"invalid syntax: {item.val}")
        self.backup()
        return None


def repr_item(item: lx.Item) -> str:
    """Go's item.String() in "unexpected ..." messages."""
    if item.kind in (lx.TEXT, lx.SPACE):
        return f"{item.val!r}".replace("'", '"') if len(item.val) <= 10 \
            else f"\"{item.val[:10]}\"..."
    if item.kind == lx.EOF:
        return "EOF"
    if item.kind == lx.RIGHT:
        return '"}}"'
    return f"\"{item.val}\""
