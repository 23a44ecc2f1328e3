"""Go text/template's executor (text/template/exec.go) over Python values:
dicts are Go maps (Struct: a Go struct), lists slices, None nil, NO_VALUE
the invalid value a missing key gives."""

from __future__ import annotations

from rs_docker.cli.gotemplate import parser as p
from rs_docker.cli.gotemplate.errors import ExecError
from rs_docker.cli.gotemplate.funcs import FuncError, truth
from rs_docker.cli.gotemplate.gofmt import NO_VALUE, Struct, sorted_keys, sprint_value, type_name

MAX_DEPTH = 100   # nested {{template}} calls (Go: 100000, Python's stack is smaller)
_NO_FINAL = object()   # Go's missingVal: no value piped in from a previous command


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class State:
    """One execution: the output so far, the variables, the node being
    evaluated (for the error's position)."""

    def __init__(self, template, out: list[str], depth: int = 0):
        self.tmpl = template
        self.out = out
        self.vars: list[tuple[str, object]] = []
        self.node: p.Node | None = None
        self.depth = depth

    # -- errors -------------------------------------------------------------------

    def at(self, node: p.Node) -> None:
        self.node = node

    def errorf(self, message: str):
        name = self.tmpl.name
        if self.node is None:
            raise ExecError(f"template: {name}: {message}")
        text = self.tmpl.text[:self.node.pos]
        newline = text.rfind("\n")
        col = self.node.pos if newline < 0 else self.node.pos - newline - 1
        line = 1 + text.count("\n")
        context = str(self.node)
        if len(context) > 20:
            context = context[:20] + "..."
        quoted = '"' + name + '"'
        raise ExecError(f"template: {name}:{line}:{col}: executing {quoted} at <{context}>: "
                        f"{message}")

    # -- variables ----------------------------------------------------------------

    def push(self, name: str, value) -> None:
        self.vars.append((name, value))

    def set_var(self, name: str, value) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        self.errorf(f"undefined variable: {name}")

    def var(self, name: str):
        for n, v in reversed(self.vars):
            if n == name:
                return v
        self.errorf(f"undefined variable: {name}")
        return None

    # -- walking ----------------------------------------------------------------------

    def walk(self, dot, node: p.Node) -> None:
        self.at(node)
        if isinstance(node, p.ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.at(node)
                self.out.append(self.printable(value))
        elif isinstance(node, p.TextNode):
            self.out.append(node.text)
        elif isinstance(node, p.ListNode):
            for n in node.nodes:
                self.walk(dot, n)
        elif isinstance(node, (p.IfNode, p.WithNode)):
            self.walk_if_or_with(dot, node)
        elif isinstance(node, p.RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, p.TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, p.BreakNode):
            raise _Break
        elif isinstance(node, p.ContinueNode):
            raise _Continue
        else:
            self.errorf(f"unknown node: {node}")

    def printable(self, value) -> str:
        return sprint_value(value)

    def walk_if_or_with(self, dot, node: p.BranchNode) -> None:
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        if truth(value):
            self.walk(value if isinstance(node, p.WithNode) else dot, node.body)
        elif node.else_ is not None:
            self.walk(dot, node.else_)
        del self.vars[mark:]

    def walk_range(self, dot, node: p.RangeNode) -> None:
        self.at(node)
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        # The variables keep the names the pipeline declared; Go sets them
        # for each element.
        del self.vars[mark:]
        decl = [v.idents[0] for v in node.pipe.decl]
        if isinstance(value, dict):
            pairs = [(k, value[k]) for k in sorted_keys(value)]
        elif isinstance(value, (list, tuple)):
            pairs = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(decl) > 1:
                self.errorf("can't use 2 variables when ranging over an integer")
            pairs = [(i, i) for i in range(value)]
        elif value is None or value is NO_VALUE:
            pairs = []
        else:
            self.errorf(f"range can't iterate over {sprint_value(value)}")
            pairs = []
        for key, elem in pairs:
            if len(decl) == 1:
                self.push(decl[0], elem) if not node.pipe.is_assign else \
                    self.set_var(decl[0], elem)
            elif len(decl) == 2:
                if node.pipe.is_assign:
                    self.set_var(decl[0], key)
                    self.set_var(decl[1], elem)
                else:
                    self.push(decl[0], key)
                    self.push(decl[1], elem)
            try:
                self.walk(elem, node.body)
            except _Continue:
                pass
            except _Break:
                del self.vars[mark:]
                break
            del self.vars[mark:]
        if not pairs and node.else_ is not None:
            self.walk(dot, node.else_)

    def walk_template(self, dot, node: p.TemplateNode) -> None:
        self.at(node)
        body = self.tmpl.defines.get(node.name)
        if body is None:
            self.errorf(f"template \"{node.name}\" not defined")
        if self.depth >= MAX_DEPTH:
            self.errorf(f"exceeded maximum template depth ({MAX_DEPTH})")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe else NO_VALUE
        inner = State(self.tmpl, self.out, self.depth + 1)
        inner.push("$", new_dot)
        inner.walk(new_dot, body)

    # -- pipelines ----------------------------------------------------------------------

    def eval_pipeline(self, dot, pipe: p.PipeNode):
        self.at(pipe)
        value = _NO_FINAL
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for var in pipe.decl:
            if pipe.is_assign:
                self.set_var(var.idents[0], value)
            else:
                self.push(var.idents[0], value)
        return value

    def not_a_function(self, args: list, final) -> None:
        if len(args) > 1 or final is not _NO_FINAL:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def eval_command(self, dot, cmd: p.CommandNode, final):
        first = cmd.args[0]
        if isinstance(first, p.FieldNode):
            return self.eval_field_node(dot, first, cmd.args, final)
        if isinstance(first, p.ChainNode):
            return self.eval_chain_node(dot, first, cmd.args, final)
        if isinstance(first, p.IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, p.PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, p.VariableNode):
            return self.eval_variable_node(dot, first, cmd.args, final)
        self.at(first)
        self.not_a_function(cmd.args, final)
        if isinstance(first, p.BoolNode):
            return first.value
        if isinstance(first, p.DotNode):
            return dot
        if isinstance(first, p.NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, p.NumberNode):
            return first.value
        if isinstance(first, p.StringNode):
            return first.text
        self.errorf(f"can't evaluate command {first}")
        return None

    def eval_field_node(self, dot, field: p.FieldNode, args, final):
        self.at(field)
        return self.eval_field_chain(dot, dot, field, field.idents, args, final)

    def eval_chain_node(self, dot, chain: p.ChainNode, args, final):
        self.at(chain)
        if isinstance(chain.node, p.PipeNode):
            pipe = self.eval_pipeline(dot, chain.node)
        else:
            pipe = self.eval_arg(dot, chain.node)
        self.at(chain)
        return self.eval_field_chain(dot, pipe, chain, chain.fields, args, final)

    def eval_variable_node(self, dot, var: p.VariableNode, args, final):
        self.at(var)
        value = self.var(var.idents[0])
        if len(var.idents) == 1:
            self.not_a_function(args, final)
            return value
        return self.eval_field_chain(dot, value, var, var.idents[1:], args, final)

    def eval_field_chain(self, dot, receiver, node, idents, args, final):
        # A key missing from a map field of Docker's typed document (Labels,
        # Networks...) is <no value> even under missingkey=error: docker/cli
        # executes on the typed struct first, where those are Go maps.
        lenient = False
        for i, ident in enumerate(idents):
            last = i == len(idents) - 1
            lenient = lenient or (i > 0 and idents[i - 1] in self.tmpl.map_fields)
            receiver = self.eval_field(dot, ident, node, args if last else None,
                                       final if last else _NO_FINAL, receiver, lenient)
        return receiver

    def eval_field(self, dot, name: str, node, args, final, receiver, lenient=False):
        if receiver is NO_VALUE:
            if self.tmpl.missingkey == "error" and not lenient:
                self.errorf(f"nil data; no entry for key \"{name}\"")
            return NO_VALUE
        has_args = (args is not None and len(args) > 1) or final is not _NO_FINAL
        if isinstance(receiver, Struct):
            method = receiver.methods.get(name)
            if method is not None:
                return self.eval_call(dot, method, node, name, args or [node], final)
            if name in receiver:
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return receiver[name]
            self.errorf(f"can't evaluate field {name} in type {receiver.go_type}")
        if isinstance(receiver, dict):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            if self.tmpl.missingkey == "error" and not lenient:
                self.errorf(f"map has no entry for key \"{name}\"")
            return NO_VALUE
        if receiver is None:
            self.errorf(f"nil pointer evaluating interface {{}}.{name}")
        self.errorf(f"can't evaluate field {name} in type {type_name(receiver)}")
        return None

    # -- functions ------------------------------------------------------------------------

    def eval_function(self, dot, ident: p.IdentifierNode, cmd, args, final):
        self.at(ident)
        name = ident.name
        if name in ("and", "or"):
            return self.eval_and_or(dot, ident, name, args, final)
        fn = self.tmpl.funcs[name]
        return self.eval_call(dot, fn, ident, name, args, final)

    def eval_and_or(self, dot, ident, name, args, final):
        operands = list(args[1:])
        if final is not _NO_FINAL:
            operands.append(final)
        if not operands:
            self.errorf(f"wrong number of args for {name}: want at least 1 got 0")
        value = None
        for i, arg in enumerate(operands):
            value = arg if i == len(operands) - 1 and final is not _NO_FINAL \
                else self.eval_arg(dot, arg)
            if truth(value) == (name == "or"):
                return value
        return value

    def eval_call(self, dot, fn, node, name: str, args, final):
        operands = list(args[1:]) if args else []
        n = len(operands) + (final is not _NO_FINAL)
        fixed = len(fn.params)
        if (fn.variadic is None and n != fixed) or (fn.variadic is not None and n < fixed):
            want = f"at least {fixed}" if fn.variadic is not None else str(fixed)
            self.errorf(f"wrong number of args for {name}: want {want} got {n}")
        values = []
        for i, arg in enumerate(operands):
            typ = fn.params[i] if i < fixed else fn.variadic
            values.append(self.eval_typed_arg(dot, typ, arg))
        if final is not _NO_FINAL:
            typ = fn.params[len(values)] if len(values) < fixed else fn.variadic
            values.append(self.validate(typ, final))
        try:
            return fn.fn(*values)
        except FuncError as e:
            self.at(node)
            self.errorf(f"error calling {name}: {e}")
        return None

    def eval_typed_arg(self, dot, typ: str, node: p.Node):
        self.at(node)
        if isinstance(node, (p.NumberNode, p.StringNode, p.BoolNode, p.NilNode)):
            if typ == "string" and not isinstance(node, p.StringNode):
                self.errorf(f"expected string; found {node}")
            if typ == "int" and not (isinstance(node, p.NumberNode) and
                                     isinstance(node.value, int)):
                self.errorf(f"expected integer; found {node}")
            if typ == "[]string":
                if isinstance(node, p.NilNode):
                    return []
                self.errorf(f"can't handle {node} for arg of type []string")
            if isinstance(node, p.NilNode):
                return None
        value = self.eval_arg(dot, node)
        self.at(node)
        return self.validate(typ, value)

    def validate(self, typ: str, value):
        if typ == "any":
            return None if value is NO_VALUE else value
        if value is NO_VALUE:
            if typ == "[]string":
                return []
            self.errorf(f"invalid value; expected {typ}")
        ok = {"string": isinstance(value, str),
              "int": isinstance(value, int) and not isinstance(value, bool),
              "[]string": value is None or (isinstance(value, (list, tuple)) and
                                            all(isinstance(x, str) for x in value))}[typ]
        if not ok:
            got = "interface {}" if value is None else type_name(value)
            if typ == "[]string" and isinstance(value, (list, tuple)):
                got = "[]interface {}"
            self.errorf(f"wrong type for value; expected {typ}; got {got}")
        return [] if value is None else value

    def eval_arg(self, dot, node: p.Node):
        self.at(node)
        if isinstance(node, p.DotNode):
            return dot
        if isinstance(node, p.NilNode):
            return None
        if isinstance(node, p.FieldNode):
            return self.eval_field_node(dot, node, [node], _NO_FINAL)
        if isinstance(node, p.VariableNode):
            return self.eval_variable_node(dot, node, [node], _NO_FINAL)
        if isinstance(node, p.PipeNode):
            return self.eval_pipeline(dot, node)
        if isinstance(node, p.IdentifierNode):
            return self.eval_function(dot, node, node, [node], _NO_FINAL)
        if isinstance(node, p.ChainNode):
            return self.eval_chain_node(dot, node, [node], _NO_FINAL)
        if isinstance(node, p.BoolNode):
            return node.value
        if isinstance(node, p.NumberNode):
            return node.value
        if isinstance(node, p.StringNode):
            return node.text
        self.errorf(f"can't handle {node} for arg")
        return None
