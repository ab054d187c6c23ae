"""The state of one template execution: variables, Go's error texts with the node's
``line:column``, and the typing of literal arguments (``idealConstant``, ``validateType``).
"""

from __future__ import annotations

from typing import Any

from slo.rules import template_nodes as n
from slo.rules.template_builtins import Function
from slo.rules.template_parse import ParsedTemplate
from slo.rules.template_values import GoHTML, go_type

__all__ = ["MISSING", "NILABLE", "ExecState", "TemplateExecError"]

MISSING = object()  # "no value came down the pipeline" (Go's missingVal)
#: Parameter types an untyped nil converts to (interfaces, pointers, slices).
NILABLE = {"any", "*template.sample", "template.queryResult"}


class TemplateExecError(Exception):
    """Execution failed; the message is Go's."""


class ExecState:
    """Variables, the node being executed (for errors) and the output."""

    def __init__(self, tmpl: ParsedTemplate, functions: dict[str, Function]) -> None:
        self.tmpl = tmpl
        self.functions = functions
        self.name = tmpl.name
        self.node: n.Node | None = None
        self.vars: list[tuple[str, Any]] = []
        self.out: list[str] = []
        self.depth = 0

    def errorf(self, message: str) -> None:
        if self.node is None:
            raise TemplateExecError(f"template: {self.name}: {message}")
        text = self.tmpl.text[: self.node.pos]
        column = len(text[text.rfind("\n") + 1 :].encode())  # Go counts bytes from 0
        line = 1 + text.count("\n")
        context = str(self.node)  # Go quotes the whole node, however long
        location = f"{self.tmpl.name}:{line}:{column}"
        raise TemplateExecError(
            f'template: {location}: executing "{self.name}" at <{context}>: {message}'
        )

    def var_value(self, name: str) -> Any:
        for var_name, value in reversed(self.vars):
            if var_name == name:
                return value
        self.errorf(f"undefined variable: {name}")

    def set_var(self, name: str, value: Any) -> None:
        for i in range(len(self.vars) - 1, -1, -1):
            if self.vars[i][0] == name:
                self.vars[i] = (name, value)
                return
        self.errorf(f"undefined variable: {name}")

    def not_a_function(self, args: list[n.Node], final: Any) -> None:
        if len(args) > 1 or final is not MISSING:
            self.errorf(f"can't give argument to non-function {args[0]}")

    def ideal_constant(self, node: n.NumberNode) -> Any:
        """A number with no type to convert to: its spelling decides (Go's rules)."""
        self.node = node
        text = node.text
        hex_int = text.lstrip("+-")[:2].lower() == "0x" and "p" not in text.lower()
        if node.is_float and not hex_int and text[0] != "'" and any(c in text for c in ".eEpP"):
            return node.float_value
        if node.is_int:
            return node.int_value
        self.errorf(f"{text} overflows int")

    def validate_type(self, value: Any, typ: str) -> Any:
        if value is None:
            if typ in NILABLE:
                return None
            self.errorf(f"invalid value; expected {typ}")
        if typ == "any":
            return value
        actual = go_type(value)
        if actual != typ or (typ == "string" and isinstance(value, GoHTML)):
            self.errorf(f"wrong type for value; expected {typ}; got {actual}")
        return value

    def eval_literal(self, typ: str, node: n.Node) -> Any:
        if typ == "any":
            if isinstance(node, n.BoolNode):
                return node.value
            if isinstance(node, n.NumberNode):
                return self.ideal_constant(node)
            if isinstance(node, n.StringNode):
                return node.text
        elif typ == "string" and isinstance(node, n.StringNode):
            return node.text
        elif typ == "float64" and isinstance(node, n.NumberNode) and node.is_float:
            return node.float_value
        elif typ == "int" and isinstance(node, n.NumberNode) and node.is_int:
            return node.int_value
        elif typ == "bool" and isinstance(node, n.BoolNode):
            return node.value
        expected = {"string": "string", "float64": "float", "int": "integer", "bool": "bool"}
        if typ in expected:
            self.errorf(f"expected {expected[typ]}; found {node}")
        self.errorf(f"can't handle {node} for arg of type {typ}")
