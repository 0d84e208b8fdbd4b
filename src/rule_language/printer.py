"""Canonical text of an expression tree.

``parse(pretty(tree)) == tree`` for every tree the parser produces: the printer
adds exactly the parentheses that precedence requires, quotes strings with
escapes, and writes decimals with a decimal point so they read back as decimals.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from .syntax import Between, Binary, Call, Compare, If, In, ListLiteral, Literal, Node, Path, Unary, chain

__all__ = ["pretty"]

# Binding strength, loosest first; a child binding looser than its slot gets parentheses.
_IF, _OR, _AND, _NOT, _CMP, _ADD, _MUL, _NEG, _ATOM = range(9)
_BINARY = {"or": _OR, "and": _AND, "+": _ADD, "-": _ADD, "*": _MUL, "/": _MUL}


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\t", "\\t")
    return f"'{escaped}'"


def _literal(node: Literal) -> str:
    value = node.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return f"date('{value.isoformat()}')"
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." not in text:
            text += ".0"
        return f"{text} {node.currency}" if node.currency else text
    return str(value)


def _strength(node: Node) -> int:
    if isinstance(node, If):
        return _IF
    if isinstance(node, Binary):
        return _BINARY[node.op]
    if isinstance(node, Unary):
        return _NOT if node.op == "not" else _NEG
    if isinstance(node, Compare | In | Between):
        return _CMP
    return _ATOM


def _wrap(node: Node, minimum: int) -> str:
    text = pretty(node)
    return f"({text})" if _strength(node) < minimum else text


def pretty(node: Node) -> str:
    """The canonical text of ``node``.

    >>> from rule_language.parser import parse
    >>> pretty(parse("(a+b)*c = 3"))
    '(a + b) * c = 3'
    """
    if isinstance(node, Literal):
        return _literal(node)
    if isinstance(node, Path):
        return node.dotted
    if isinstance(node, Unary):
        if node.op == "not":
            return f"not {_wrap(node.operand, _NOT)}"
        return f"-{_wrap(node.operand, _NEG)}"
    if isinstance(node, Binary):
        level = _BINARY[node.op]
        # Left-associative: the right operand of the same level needs parentheses.
        # A chain is printed in a loop, so a 300-term `or` needs no recursion.
        first, links = chain(node)
        return " ".join([_wrap(first, level),
                         *(f"{link.op} {_wrap(link.right, level + 1)}" for link in links)])
    if isinstance(node, Compare):
        return f"{_wrap(node.left, _ADD)} {node.op} {_wrap(node.right, _ADD)}"
    if isinstance(node, In):
        op = "not in" if node.negated else "in"
        return f"{_wrap(node.value, _ADD)} {op} {_wrap(node.options, _ADD)}"
    if isinstance(node, Between):
        return (f"{_wrap(node.value, _ADD)} between {_wrap(node.low, _ADD)}"
                f" and {_wrap(node.high, _ADD)}")
    if isinstance(node, If):
        # A nested `if` in the condition or the then-branch is parenthesised, so a
        # following `else` cannot attach to the wrong `if`.
        text = f"if {_wrap(node.condition, _OR)} then {_wrap(node.then, _OR)}"
        if node.otherwise is not None:
            text += f" else {pretty(node.otherwise)}"
        return text
    if isinstance(node, Call):
        return f"{node.name}({', '.join(pretty(a) for a in node.args)})"
    if isinstance(node, ListLiteral):
        return f"[{', '.join(pretty(i) for i in node.items)}]"
    raise TypeError(f"cannot print {type(node).__name__}")
