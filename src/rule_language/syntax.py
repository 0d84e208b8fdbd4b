"""The expression tree produced by the parser.

Nodes are frozen dataclasses; their ``span`` (start and end offsets in the
source text) is excluded from equality, so two parses of equivalent text compare
equal. Nothing here evaluates anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

__all__ = [
    "Between",
    "Binary",
    "Call",
    "Compare",
    "If",
    "In",
    "ListLiteral",
    "Literal",
    "Node",
    "Path",
    "Span",
    "Unary",
    "chain",
]

LiteralValue = bool | int | Decimal | str | dt.date


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int


_NO_SPAN = Span(0, 0)


@dataclass(frozen=True, slots=True)
class Node:
    span: Span = field(default=_NO_SPAN, compare=False, repr=False, kw_only=True)


@dataclass(frozen=True, slots=True)
class Literal(Node):
    """A constant. ``currency`` is set for money literals such as ``12.50 EUR``."""

    value: LiteralValue
    currency: str | None = None


@dataclass(frozen=True, slots=True)
class Path(Node):
    parts: tuple[str, ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True, slots=True)
class Unary(Node):
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True, slots=True)
class Binary(Node):
    op: str  # "+", "-", "*", "/", "and", "or"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare(Node):
    op: str  # "=", "!=", "<", "<=", ">", ">="
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class In(Node):
    value: Node
    options: Node  # a ListLiteral or a list-typed expression
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Between(Node):
    value: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class If(Node):
    condition: Node
    then: Node
    otherwise: Node | None  # None: "if c then b" on booleans, meaning "not c or b"


@dataclass(frozen=True, slots=True)
class Call(Node):
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ListLiteral(Node):
    items: tuple[Node, ...]


_LEVEL = {"or": 0, "and": 1, "+": 2, "-": 2, "*": 3, "/": 3}


def chain(node: Binary) -> tuple[Node, list[Binary]]:
    """A left-nested run of operators of one precedence level, unrolled.

    ``a + b - c`` parses as ``(a + b) - c``; a 300-term ``or`` or ``+`` is a
    tree 300 levels deep. Walkers use this instead of recursing down the left
    side, so a long chain costs no recursion. Returns the leftmost operand and
    the chain's nodes from the innermost (``a + b``) to ``node`` itself.

    >>> from rule_language.parser import parse
    >>> first, links = chain(parse("a + b - c * d"))
    >>> first.dotted, [link.op for link in links]
    ('a', ['+', '-'])
    """
    level = _LEVEL[node.op]
    links: list[Binary] = []
    current: Node = node
    while isinstance(current, Binary) and _LEVEL[current.op] == level:
        links.append(current)
        current = current.left
    links.reverse()
    return current, links
