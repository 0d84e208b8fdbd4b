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
