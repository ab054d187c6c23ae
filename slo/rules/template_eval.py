"""Executing a parsed Go template (text/template's exec.go): pipelines, fields, variables,
``if``/``with``/``range``/``template``, Go's argument typing, and errors spelled as Go spells
them: ``template: NAME:LINE:COL: executing "NAME" at <NODE>: MESSAGE``.
"""

from __future__ import annotations

from typing import Any

from slo.rules import template_nodes as n
from slo.rules.template_builtins import FuncError, Function
from slo.rules.template_exec_state import MISSING, NILABLE, ExecState, TemplateExecError
from slo.rules.template_gofmt import value_text
from slo.rules.template_parse import ParsedTemplate
from slo.rules.template_time import GoDuration, GoTime
from slo.rules.template_values import (
    AlertData,
    AnyMap,
    TemplateSample,
    go_type,
    is_true,
)

__all__ = ["TemplateExecError", "execute"]

_MAX_DEPTH = 1000  # nested {{template}} calls; Go allows more, Python's stack does not


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


class _State(ExecState):
    """Walks the tree and evaluates pipelines, as text/template's ``state`` does."""

    # walking

    def walk(self, dot: Any, node: n.Node) -> None:
        self.node = node
        if isinstance(node, n.ActionNode):
            value = self.eval_pipeline(dot, node.pipe)
            if not node.pipe.decl:
                self.node = node
                self.out.append(value_text(value))
        elif isinstance(node, n.TextNode):
            self.out.append(node.text)
        elif isinstance(node, n.ListNode):
            for child in node.nodes:
                self.walk(dot, child)
        elif isinstance(node, (n.IfNode, n.WithNode)):
            self.walk_if_or_with(dot, node)
        elif isinstance(node, n.RangeNode):
            self.walk_range(dot, node)
        elif isinstance(node, n.TemplateNode):
            self.walk_template(dot, node)
        elif isinstance(node, n.BreakNode):
            raise _Break
        elif isinstance(node, n.ContinueNode):
            raise _Continue

    def walk_if_or_with(self, dot: Any, node: n.IfNode | n.WithNode) -> None:
        mark = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        if is_true(value):
            self.walk(value if isinstance(node, n.WithNode) else dot, node.list)
        elif node.else_list is not None:
            self.walk(dot, node.else_list)
        del self.vars[mark:]

    def walk_range(self, dot: Any, node: n.RangeNode) -> None:
        self.node = node
        outer = len(self.vars)
        value = self.eval_pipeline(dot, node.pipe)
        mark = len(self.vars)
        decl = node.pipe.decl
        if isinstance(value, dict):
            pairs: list[tuple[Any, Any]] = [(k, value[k]) for k in sorted(value)]
        elif isinstance(value, list):
            pairs = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            if len(decl) > 1:
                self.errorf(f"can't use {value} to iterate over more than one variable")
            pairs = [(i, i) for i in range(value)]
        elif value is None:
            pairs = []
        else:
            self.errorf(f"range can't iterate over {value_text(value)}")
        for index, element in pairs:
            if decl:
                self.vars[-1] = (self.vars[-1][0], element)
            if len(decl) > 1:
                self.vars[-2] = (self.vars[-2][0], index)
            try:
                self.walk(element, node.list)
            except _Continue:
                pass
            except _Break:
                break
            finally:
                del self.vars[mark:]
        if not pairs and node.else_list is not None:
            self.walk(dot, node.else_list)
        del self.vars[outer:]

    def walk_template(self, dot: Any, node: n.TemplateNode) -> None:
        self.node = node
        body = self.tmpl.definitions.get(node.name)
        if body is None:
            self.errorf(f'template "{node.name}" not defined')
        if self.depth >= _MAX_DEPTH:
            self.errorf(f"exceeded maximum template depth ({_MAX_DEPTH})")
        new_dot = self.eval_pipeline(dot, node.pipe) if node.pipe is not None else None
        saved = (self.vars, self.name)
        self.vars, self.name = [("$", new_dot)], node.name
        self.depth += 1
        try:
            self.walk(new_dot, body)  # type: ignore[arg-type]
        finally:
            self.depth -= 1
            self.vars, self.name = saved

    # evaluation

    def eval_pipeline(self, dot: Any, pipe: n.PipeNode) -> Any:
        self.node = pipe
        value: Any = MISSING
        for cmd in pipe.cmds:
            value = self.eval_command(dot, cmd, value)
        for variable in pipe.decl:
            if pipe.is_assign:
                self.set_var(variable.ident[0], value)
            else:
                self.vars.append((variable.ident[0], value))
        return value

    def eval_command(self, dot: Any, cmd: n.CommandNode, final: Any) -> Any:
        first = cmd.args[0]
        if isinstance(first, n.FieldNode):
            self.node = first
            return self.eval_field_chain(dot, dot, first, first.ident, cmd.args, final)
        if isinstance(first, n.ChainNode):
            return self.eval_chain(dot, first, cmd.args, final)
        if isinstance(first, n.IdentifierNode):
            return self.eval_function(dot, first, cmd, cmd.args, final)
        if isinstance(first, n.PipeNode):
            self.not_a_function(cmd.args, final)
            return self.eval_pipeline(dot, first)
        if isinstance(first, n.VariableNode):
            return self.eval_variable(dot, first, cmd.args, final)
        self.node = first
        self.not_a_function(cmd.args, final)
        if isinstance(first, n.BoolNode):
            return first.value
        if isinstance(first, n.DotNode):
            return dot
        if isinstance(first, n.NilNode):
            self.errorf("nil is not a command")
        if isinstance(first, n.NumberNode):
            return self.ideal_constant(first)
        if isinstance(first, n.StringNode):
            return first.text
        self.errorf(f"can't evaluate command {first}")

    def eval_chain(
        self, dot: Any, chain: n.ChainNode, args: list[n.Node] | None, final: Any
    ) -> Any:
        self.node = chain
        if isinstance(chain.node, n.NilNode):
            self.errorf(f"indirection through explicit nil in {chain}")
        receiver = self.eval_arg(dot, "any", chain.node)
        return self.eval_field_chain(dot, receiver, chain, chain.fields, args, final)

    def eval_variable(
        self, dot: Any, variable: n.VariableNode, args: list[n.Node] | None, final: Any
    ) -> Any:
        self.node = variable
        value = self.var_value(variable.ident[0])
        if len(variable.ident) == 1:
            self.not_a_function(args or [variable], final)
            return value
        return self.eval_field_chain(dot, value, variable, variable.ident[1:], args, final)

    def eval_field_chain(
        self,
        dot: Any,
        receiver: Any,
        node: n.Node,
        idents: list[str],
        args: list[n.Node] | None,
        final: Any,
    ) -> Any:
        static_type = None  # Go names a value read from an interface {} slot by that type
        for name in idents[:-1]:
            slot_is_interface = isinstance(receiver, AnyMap) or (
                isinstance(receiver, (AlertData, TemplateSample)) and name == "Value"
            )
            receiver = self.eval_field(dot, name, node, None, MISSING, receiver, static_type)
            static_type = "interface {}" if slot_is_interface else None
        return self.eval_field(dot, idents[-1], node, args, final, receiver, static_type)

    def eval_field(
        self,
        dot: Any,
        name: str,
        node: n.Node,
        args: list[n.Node] | None,
        final: Any,
        receiver: Any,
        static_type: str | None = None,
    ) -> Any:
        if receiver is None:
            return None  # missingkey=zero: a field of nothing is nothing
        if isinstance(receiver, (GoTime, GoDuration)):
            method = receiver.method(name)
            if method is not None:
                params, impl = method
                return self.eval_call(dot, Function(params, None, impl), node, name, args, final)
        has_args = (args is not None and len(args) > 1) or final is not MISSING
        if isinstance(receiver, (AlertData, TemplateSample)):
            fields = receiver.fields()
            if name in fields:
                if has_args:
                    self.errorf(f"{name} has arguments but cannot be invoked as function")
                return fields[name]
        elif isinstance(receiver, dict):
            if has_args:
                self.errorf(f"{name} is not a method but has arguments")
            if name in receiver:
                return receiver[name]
            return "" if type(receiver) is dict else None
        self.errorf(f"can't evaluate field {name} in type {static_type or go_type(receiver)}")

    def eval_function(
        self,
        dot: Any,
        node: n.IdentifierNode,
        cmd: n.Node,
        args: list[n.Node] | None,
        final: Any,
    ) -> Any:
        self.node = node
        function = self.functions.get(node.ident)
        if function is None:
            self.errorf(f'"{node.ident}" is not a defined function')
        return self.eval_call(dot, function, cmd, node.ident, args, final)  # type: ignore[arg-type]

    def eval_call(
        self,
        dot: Any,
        function: Function,
        node: n.Node,
        name: str,
        args: list[n.Node] | None,
        final: Any,
    ) -> Any:
        arg_nodes = args[1:] if args is not None else []
        count = len(arg_nodes) + (final is not MISSING)
        fixed = len(function.params)
        if function.variadic is not None:
            if count < fixed:
                self.errorf(f"wrong number of args for {name}: want at least {fixed} got {count}")
        elif count != fixed:
            self.errorf(f"wrong number of args for {name}: want {fixed} got {count}")
        if name in ("and", "or") and function is self.functions.get(name):
            return self.short_circuit(dot, name, arg_nodes, final)
        argv = [
            self.eval_arg(dot, _param_type(function, i), arg) for i, arg in enumerate(arg_nodes)
        ]
        if final is not MISSING:
            argv.append(self.validate_type(final, _param_type(function, count - 1)))
        try:
            return function.impl(*argv)
        except FuncError as exc:
            self.node = node
            self.errorf(f"error calling {name}: {exc}")
        except (ArithmeticError, ValueError, TypeError, OverflowError) as exc:
            self.node = node  # a Go function would have panicked; safeCall reports it
            self.errorf(f"error calling {name}: {exc}")

    def short_circuit(self, dot: Any, name: str, arg_nodes: list[n.Node], final: Any) -> Any:
        """``and``/``or`` evaluate arguments only until the answer is known (Go 1.18+)."""
        value: Any = None
        for arg in arg_nodes:
            value = self.eval_arg(dot, "any", arg)
            if is_true(value) == (name == "or"):
                return value
        if final is not MISSING:
            value = self.validate_type(final, "any")
        return value

    def eval_arg(self, dot: Any, typ: str, node: n.Node) -> Any:
        self.node = node
        if isinstance(node, n.DotNode):
            return self.validate_type(dot, typ)
        if isinstance(node, n.NilNode):
            if typ in NILABLE:
                return None
            self.errorf(f"cannot assign nil to {typ}")
        if isinstance(node, n.FieldNode):
            value = self.eval_field_chain(dot, dot, node, node.ident, [node], MISSING)
            return self.validate_type(value, typ)
        if isinstance(node, n.VariableNode):
            return self.validate_type(self.eval_variable(dot, node, None, MISSING), typ)
        if isinstance(node, n.PipeNode):
            return self.validate_type(self.eval_pipeline(dot, node), typ)
        if isinstance(node, n.IdentifierNode):
            return self.validate_type(self.eval_function(dot, node, node, None, MISSING), typ)
        if isinstance(node, n.ChainNode):
            return self.validate_type(self.eval_chain(dot, node, None, MISSING), typ)
        return self.eval_literal(typ, node)


def _param_type(function: Function, index: int) -> str:
    if index < len(function.params):
        return function.params[index]
    return function.variadic or "any"


def execute(tmpl: ParsedTemplate, data: Any, functions: dict[str, Function]) -> str:
    """Run ``tmpl`` with ``data`` as dot and ``$``; raises TemplateExecError."""
    state = _State(tmpl, functions)
    state.vars.append(("$", data))
    state.walk(data, tmpl.root)
    return "".join(state.out)
