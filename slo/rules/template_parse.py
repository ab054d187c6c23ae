"""The parser of Go's text/template, following text/template/parse: the same grammar, the same
checks at parse time (unknown functions, undefined variables, ``{{break}}`` outside a range)
and the same ``template: NAME:LINE: message`` errors.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from slo.rules import template_nodes as n
from slo.rules.template_lex import Item, ItemType, lex
from slo.rules.template_literals import number_node, unquote

__all__ = ["ParsedTemplate", "TemplateSyntaxError", "parse_template"]

_T = ItemType


class TemplateSyntaxError(Exception):
    """A template that does not parse; the message is Go's (``template: NAME:LINE: ...``)."""


@dataclass
class ParsedTemplate:
    name: str
    text: str
    root: n.ListNode
    definitions: dict[str, n.ListNode] = field(default_factory=dict)


class _Parser:
    def __init__(self, name: str, text: str, functions: Collection[str]) -> None:
        self.name = name
        self.items = lex(text)
        self.index = 0
        self.functions = functions
        self.vars = ["$"]
        self.range_depth = 0
        self.definitions: dict[str, n.ListNode] = {}

    # token stream

    def next(self) -> Item:
        item = self.items[min(self.index, len(self.items) - 1)]
        self.index += 1
        return item

    def backup(self, count: int = 1) -> None:
        self.index -= count

    def peek(self) -> Item:
        return self.items[min(self.index, len(self.items) - 1)]

    def next_non_space(self) -> Item:
        item = self.next()
        while item.type is _T.SPACE:
            item = self.next()
        return item

    def peek_non_space(self) -> Item:
        item = self.next_non_space()
        self.backup()
        return item

    def errorf(self, message: str) -> None:
        line = self.items[min(max(self.index - 1, 0), len(self.items) - 1)].line
        raise TemplateSyntaxError(f"template: {self.name}:{line}: {message}")

    def unexpected(self, token: Item, context: str) -> None:
        if token.type is _T.ERROR:
            self.errorf(token.val)
        self.errorf(f"unexpected {token} in {context}")

    def expect(self, kind: ItemType, context: str) -> Item:
        token = self.next_non_space()
        if token.type is not kind:
            self.unexpected(token, context)
        return token

    # structure

    def parse(self) -> n.ListNode:
        root = n.ListNode(self.peek().pos)
        while self.peek().type is not _T.EOF:
            if self.peek().type is _T.LEFT_DELIM:
                mark = self.index
                self.next()
                keyword = self.next_non_space()
                if keyword.type is _T.KEYWORD and keyword.val == "define":
                    self.parse_definition()
                    continue
                self.index = mark
            node = self.text_or_action()
            if isinstance(node, (n.EndNode, n.ElseNode)):
                self.errorf(f"unexpected {node}")
            root.nodes.append(node)
        return root

    def parse_definition(self) -> None:
        context = "define clause"
        token = self.next_non_space()
        if token.type not in (_T.STRING, _T.RAW_STRING):
            self.unexpected(token, context)
        name = self.unquote(token)
        self.expect(_T.RIGHT_DELIM, context)
        saved, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved
        if not isinstance(end, n.EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.definitions[name] = body

    def item_list(self) -> tuple[n.ListNode, n.Node]:
        nodes = n.ListNode(self.peek_non_space().pos)
        while self.peek_non_space().type is not _T.EOF:
            node = self.text_or_action()
            if isinstance(node, (n.EndNode, n.ElseNode)):
                return nodes, node
            nodes.nodes.append(node)
        self.errorf("unexpected EOF")
        raise AssertionError  # errorf raised

    def text_or_action(self) -> n.Node:
        token = self.next_non_space()
        if token.type is _T.TEXT:
            return n.TextNode(token.pos, token.val)
        if token.type is _T.LEFT_DELIM:
            return self.action()
        self.unexpected(token, "input")
        raise AssertionError

    def action(self) -> n.Node:
        token = self.next_non_space()
        if token.type is _T.KEYWORD:
            control = {
                "block": self.block_control,
                "break": lambda: self.loop_control(token, n.BreakNode),
                "continue": lambda: self.loop_control(token, n.ContinueNode),
                "else": self.else_control,
                "end": lambda: n.EndNode(self.expect(_T.RIGHT_DELIM, "end").pos),
                "if": lambda: self.branch(n.IfNode, "if"),
                "range": lambda: self.branch(n.RangeNode, "range"),
                "template": self.template_control,
                "with": lambda: self.branch(n.WithNode, "with"),
            }.get(token.val)
            if control is not None:
                return control()
        self.backup()
        token = self.peek()
        return n.ActionNode(token.pos, token.line, self.pipeline("command", _T.RIGHT_DELIM))

    def loop_control(self, token: Item, kind: type[n.BreakNode] | type[n.ContinueNode]) -> n.Node:
        word = "{{" + token.val + "}}"
        after = self.next_non_space()
        if after.type is not _T.RIGHT_DELIM:
            self.unexpected(after, word)
        if self.range_depth == 0:
            self.errorf(f"{word} outside {{{{range}}}}")
        return kind(token.pos)

    def else_control(self) -> n.Node:
        peek = self.peek_non_space()
        if peek.type is _T.KEYWORD and peek.val in ("if", "with"):
            return n.ElseNode(peek.pos, peek.line, peek.val)
        token = self.expect(_T.RIGHT_DELIM, "else")
        return n.ElseNode(token.pos, token.line)

    def branch(self, kind: type[n.IfNode | n.RangeNode | n.WithNode], context: str) -> n.Node:
        mark = len(self.vars)
        pipe = self.pipeline(context, _T.RIGHT_DELIM)
        self.range_depth += context == "range"
        body, end = self.item_list()
        self.range_depth -= context == "range"
        else_list: n.ListNode | None = None
        if isinstance(end, n.ElseNode):
            if end.keyword and end.keyword == context and context in ("if", "with"):
                self.next_non_space()  # the "if" / "with" of {{else if}} / {{else with}}
                else_list = n.ListNode(end.pos, [self.branch(kind, context)])
            else:
                else_list, end = self.item_list()
                if not isinstance(end, n.EndNode):
                    self.errorf(f"expected end; found {end}")
        del self.vars[mark:]
        return kind(pipe.pos, pipe.line, pipe, body, else_list)

    def template_control(self) -> n.Node:
        token = self.next_non_space()
        name = self.template_name(token, "template clause")
        pipe = None
        if self.next_non_space().type is not _T.RIGHT_DELIM:
            self.backup()
            pipe = self.pipeline("template clause", _T.RIGHT_DELIM)
        return n.TemplateNode(token.pos, token.line, name, pipe)

    def block_control(self) -> n.Node:
        context = "block clause"
        token = self.next_non_space()
        name = self.template_name(token, context)
        pipe = self.pipeline(context, _T.RIGHT_DELIM)
        saved, self.vars = self.vars, ["$"]
        body, end = self.item_list()
        self.vars = saved
        if not isinstance(end, n.EndNode):
            self.errorf(f"unexpected {end} in {context}")
        self.definitions[name] = body
        return n.TemplateNode(token.pos, token.line, name, pipe)

    def template_name(self, token: Item, context: str) -> str:
        if token.type not in (_T.STRING, _T.RAW_STRING):
            self.unexpected(token, context)
        return self.unquote(token)

    def unquote(self, token: Item) -> str:
        try:
            return unquote(token)
        except ValueError as exc:
            self.errorf(str(exc))
            raise AssertionError from exc

    # pipelines

    def pipeline(self, context: str, end: ItemType) -> n.PipeNode:
        token = self.peek_non_space()
        pipe = n.PipeNode(token.pos, token.line)
        self.declarations(pipe, context)
        while True:
            token = self.next_non_space()
            if token.type is end:
                self.check_pipeline(pipe, context)
                return pipe
            if token.type in _OPERAND_START or (token.type is _T.KEYWORD and token.val == "nil"):
                self.backup()
                pipe.cmds.append(self.command())
            else:
                self.unexpected(token, context)

    def declarations(self, pipe: n.PipeNode, context: str) -> None:
        while True:
            variable = self.peek_non_space()
            if variable.type is not _T.VARIABLE:
                return
            mark = self.index
            self.next_non_space()
            after = self.peek_non_space()
            if after.type in (_T.ASSIGN, _T.DECLARE):
                pipe.is_assign = after.type is _T.ASSIGN
                self.next_non_space()
                pipe.decl.append(n.VariableNode(variable.pos, [variable.val]))
                self.vars.append(variable.val)
                return
            if after.type is _T.CHAR and after.val == ",":
                self.next_non_space()
                pipe.decl.append(n.VariableNode(variable.pos, [variable.val]))
                self.vars.append(variable.val)
                if context == "range" and len(pipe.decl) < 2:
                    if self.peek_non_space().type in (_T.VARIABLE, _T.RIGHT_DELIM, _T.RIGHT_PAREN):
                        continue
                    self.errorf("range can only initialize variables")
                self.errorf(f"too many declarations in {context}")
            self.index = mark
            return

    def check_pipeline(self, pipe: n.PipeNode, context: str) -> None:
        if not pipe.cmds:
            self.errorf(f"missing value for {context}")
        literals = (n.BoolNode, n.DotNode, n.NilNode, n.NumberNode, n.StringNode)
        for stage, cmd in enumerate(pipe.cmds[1:], start=2):
            if isinstance(cmd.args[0], literals):
                self.errorf(f"non executable command in pipeline stage {stage}")

    def command(self) -> n.CommandNode:
        cmd = n.CommandNode(self.peek_non_space().pos)
        while True:
            self.peek_non_space()
            operand = self.operand()
            if operand is not None:
                cmd.args.append(operand)
            token = self.next()
            if token.type is _T.SPACE:
                continue
            if token.type in (_T.RIGHT_DELIM, _T.RIGHT_PAREN):
                self.backup()
            elif token.type is _T.ERROR:
                self.errorf(token.val)
            elif token.type is not _T.PIPE:
                self.errorf(f"unexpected {token} in operand")
            break
        if not cmd.args:
            self.errorf("empty command")
        return cmd

    def operand(self) -> n.Node | None:
        node = self.term()
        if node is None or self.peek().type is not _T.FIELD:
            return node
        chain = n.ChainNode(self.peek().pos, node)
        while self.peek().type is _T.FIELD:
            chain.fields.append(self.next().val[1:])
        if isinstance(node, n.FieldNode):
            return n.FieldNode(chain.pos, node.ident + chain.fields)
        if isinstance(node, n.VariableNode):
            return n.VariableNode(chain.pos, node.ident + chain.fields)
        if isinstance(node, (n.BoolNode, n.StringNode, n.NumberNode, n.NilNode, n.DotNode)):
            from slo.rules.template_gofmt import go_quote

            self.errorf(f"unexpected . after term {go_quote(str(node))}")
        return chain

    def term(self) -> n.Node | None:
        token = self.next_non_space()
        kind = token.type
        if kind is _T.ERROR:
            self.errorf(token.val)
        if kind is _T.IDENTIFIER:
            if token.val not in self.functions:
                self.errorf(f'function "{token.val}" not defined')
            return n.IdentifierNode(token.pos, token.val)
        if kind is _T.DOT:
            return n.DotNode(token.pos)
        if kind is _T.KEYWORD and token.val == "nil":
            return n.NilNode(token.pos)
        if kind is _T.VARIABLE:
            if token.val not in self.vars:
                self.errorf(f'undefined variable "{token.val}"')
            return n.VariableNode(token.pos, [token.val])
        if kind is _T.FIELD:
            return n.FieldNode(token.pos, [token.val[1:]])
        if kind is _T.BOOL:
            return n.BoolNode(token.pos, token.val == "true")
        if kind in (_T.NUMBER, _T.CHAR_CONSTANT):
            try:
                return number_node(token)
            except ValueError as exc:
                self.errorf(str(exc))
        if kind is _T.LEFT_PAREN:
            return self.pipeline("parenthesized pipeline", _T.RIGHT_PAREN)
        if kind in (_T.STRING, _T.RAW_STRING):
            return n.StringNode(token.pos, token.val, self.unquote(token))
        self.backup()
        return None


_OPERAND_START = {_T.BOOL, _T.CHAR_CONSTANT, _T.DOT, _T.FIELD, _T.IDENTIFIER, _T.NUMBER}
_OPERAND_START |= {_T.RAW_STRING, _T.STRING, _T.VARIABLE, _T.LEFT_PAREN}


def parse_template(name: str, text: str, functions: Collection[str]) -> ParsedTemplate:
    """Parse ``text`` as template ``name``; raises TemplateSyntaxError."""
    parser = _Parser(name, text, functions)
    root = parser.parse()
    return ParsedTemplate(name, text, root, parser.definitions)
