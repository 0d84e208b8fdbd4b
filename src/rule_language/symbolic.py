"""The exact sympy form of a type-checked expression.

Why sympy: the configurator reasons symbolically over constraints (simplifying,
turning conditions over options into propositional formulas) and explanations
pretty-print them. The sympy objects are built directly from our typed tree —
never by ``sympify`` or ``parse_expr`` on author text.

Arithmetic maps to exact sympy arithmetic (decimals become rationals), dates to
their ordinal day numbers, and booleans to sympy logic. What sympy cannot model
(text comparisons, list functions, ``is_set``) becomes an *atom*: a fresh symbol
whose meaning is kept in :class:`Atom`, so a caller can substitute its truth
value or number. A text comparison ``engine = 'diesel'`` becomes the boolean atom
``engine='diesel'``; ``engine in ['a', 'b']`` the disjunction of two such atoms.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sympy
from sympy.logic import boolalg

from .checker import TypedTree
from .printer import pretty
from .syntax import Between, Binary, Call, Compare, If, In, ListLiteral, Literal, Node, Path, Unary, chain
from .types import BOOLEAN, BoolType, DateType, IntegerType, ListType, Type

__all__ = ["Atom", "to_sympy"]


@dataclass(frozen=True)
class Atom:
    """The meaning of a symbol that stands for something sympy does not model.

    ``path``/``value`` are set for the equality atoms ``path = 'value'``; other
    atoms carry only their ``node`` (evaluate it to substitute a value).
    """

    symbol: sympy.Symbol
    tree: TypedTree
    path: str | None = None
    value: Any = None
    boolean: bool = True


_RELATIONS = {"=": sympy.Eq, "!=": sympy.Ne, "<": sympy.Lt, "<=": sympy.Le, ">": sympy.Gt, ">=": sympy.Ge}


def _number(value: int | Decimal) -> sympy.Expr:
    if isinstance(value, int):
        return sympy.Integer(value)
    sign, digits, exponent = value.as_tuple()
    numerator = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    assert isinstance(exponent, int)
    if exponent >= 0:
        return sympy.Integer(numerator * 10**exponent)
    return sympy.Rational(numerator, 10 ** (-exponent))


def _relate(relation: Any, left: Any, right: Any) -> Any:
    """``relation(left, right)`` with any numeric ``if`` turned into boolean logic.

    sympy mis-simplifies a ``Piecewise`` whose condition contains another
    ``Piecewise`` (it folded ``if (if p then x else y) <= x then x else y`` to
    ``x``), so a comparison never keeps a ``Piecewise`` operand: each branch
    becomes ``branch condition and branch comparison``.
    """
    left, right = sympy.piecewise_fold(left), sympy.piecewise_fold(right)
    for index, side in enumerate((left, right)):
        if isinstance(side, sympy.Piecewise):
            alternatives = []
            earlier: list[Any] = []
            for branch, condition in side.args:
                pair = (branch, right) if index == 0 else (left, branch)
                alternatives.append(sympy.And(condition, *[sympy.Not(c) for c in earlier],
                                              _relate(relation, *pair)))
                earlier.append(condition)
            return sympy.Or(*alternatives)
    return relation(left, right)


class _Translator:
    def __init__(self, tree: TypedTree) -> None:
        # Our own copy of the type table: translation synthesises a few boolean nodes.
        self.types = dict(tree.types)
        self.atoms: dict[sympy.Symbol, Atom] = {}

    def type_of(self, node: Node) -> Type:
        return self.types[id(node)]

    def synthesised(self, node: Node) -> Node:
        self.types[id(node)] = BOOLEAN
        return node

    def atom(self, node: Node, *, path: str | None = None, value: Any = None) -> sympy.Symbol:
        boolean = isinstance(self.type_of(node), BoolType)
        name = f"{path}={value!r}" if path is not None else pretty(node)
        symbol = sympy.Symbol(name) if boolean else sympy.Symbol(name, real=True)
        if symbol not in self.atoms:
            self.atoms[symbol] = Atom(symbol, TypedTree(node, self.types), path, value, boolean)
        return symbol

    def go(self, node: Node) -> Any:
        return getattr(self, "go_" + type(node).__name__)(node)

    def go_Literal(self, node: Literal) -> Any:
        value = node.value
        if isinstance(value, bool):
            return sympy.true if value else sympy.false
        if isinstance(value, int | Decimal):
            return _number(value)
        if isinstance(value, dt.date):
            return sympy.Integer(value.toordinal())
        return self.atom(node)

    def go_Path(self, node: Path) -> Any:
        found = self.type_of(node)
        if isinstance(found, BoolType):
            return sympy.Symbol(node.dotted)
        if found.is_numeric or isinstance(found, DateType):
            integer = isinstance(found, IntegerType | DateType)
            return sympy.Symbol(node.dotted, real=True, integer=integer or None)
        return self.atom(node)

    def go_Unary(self, node: Unary) -> Any:
        inner = self.go(node.operand)
        return sympy.Not(inner) if node.op == "not" else -inner

    def go_Binary(self, node: Binary) -> Any:
        # A chain becomes one flat And/Or/Add/Mul: no recursion down a 300-term
        # `or`, and no quadratic re-flattening as sympy would do term by term.
        first, links = chain(node)
        operands = [self.go(first)]
        for link in links:
            right = self.go(link.right)
            if link.op == "-":
                right = -right
            elif link.op == "/":
                right = sympy.Pow(right, -1)
            operands.append(right)
        if node.op == "and":
            return sympy.And(*operands)
        if node.op == "or":
            return sympy.Or(*operands)
        if node.op in ("+", "-"):
            return sympy.Add(*operands)
        return sympy.Mul(*operands)

    def equality(self, node: Node, left: Node, right: Node) -> Any:
        """``left = right`` for text (an atom) or booleans (equivalence)."""
        if isinstance(self.type_of(left), BoolType):
            return sympy.Equivalent(self.go(left), self.go(right))
        if isinstance(left, Literal) and isinstance(right, Path):
            left, right = right, left
        if isinstance(left, Path) and isinstance(right, Literal):
            return self.atom(node, path=left.dotted, value=right.value)
        return self.atom(node)

    def go_Compare(self, node: Compare) -> Any:
        left_type = self.type_of(node.left)
        if left_type.is_textual or isinstance(left_type, BoolType):
            if node.op == "=":
                return self.equality(node, node.left, node.right)
            if node.op == "!=":
                equal = self.synthesised(Compare("=", node.left, node.right, span=node.span))
                return sympy.Not(self.equality(equal, node.left, node.right))
            return self.atom(node)
        return _relate(_RELATIONS[node.op], self.go(node.left), self.go(node.right))

    def go_In(self, node: In) -> Any:
        if not isinstance(node.options, ListLiteral):
            result = self.atom(self.synthesised(In(node.value, node.options, span=node.span)))
        else:
            result = sympy.Or(*(
                self.go_Compare(self.synthesised(Compare("=", node.value, item, span=node.span)))  # type: ignore[arg-type]
                for item in node.options.items
            ))
        return sympy.Not(result) if node.negated else result

    def go_Between(self, node: Between) -> Any:
        value = self.go(node.value)
        return sympy.And(_relate(sympy.Le, self.go(node.low), value),
                         _relate(sympy.Le, value, self.go(node.high)))

    def go_If(self, node: If) -> Any:
        condition = self.go(node.condition)
        then = self.go(node.then)
        if node.otherwise is None:
            return sympy.Implies(condition, then)
        otherwise = self.go(node.otherwise)
        if isinstance(self.type_of(node), BoolType):
            return boolalg.ITE(condition, then, otherwise)
        return sympy.Piecewise((then, condition), (otherwise, True))

    def go_ListLiteral(self, node: ListLiteral) -> Any:
        return self.atom(node)

    def go_Call(self, node: Call) -> Any:
        name, args = node.name, node.args
        list_argument = len(args) == 1 and isinstance(self.type_of(args[0]), ListType)
        if name in ("min", "max") and not list_argument:
            function = sympy.Min if name == "min" else sympy.Max
            return function(*(self.go(a) for a in args))
        if name == "abs":
            return sympy.Abs(self.go(args[0]))
        if name in ("ceil", "floor"):
            function = sympy.ceiling if name == "ceil" else sympy.floor
            value = self.go(args[0])
            if len(args) == 2:
                step = self.go(args[1])
                return step * function(value / step)
            return function(value)
        if name == "round" and (len(args) == 2 or getattr(args[2], "value", None) == "half_up"):
            value, step = self.go(args[0]), self.go(args[1])
            return step * sympy.sign(value) * sympy.floor(sympy.Abs(value) / step + sympy.Rational(1, 2))
        if name == "days_between":
            return self.go(args[1]) - self.go(args[0])
        return self.atom(node)


def to_sympy(tree: TypedTree) -> tuple[Any, dict[sympy.Symbol, Atom]]:
    """The sympy form of ``tree`` and the meaning of every atom in it.

    >>> from rule_language.parser import parse
    >>> from rule_language.checker import check
    >>> from rule_language.schema import Schema
    >>> schema = Schema.of({"width": "decimal", "depth": "decimal"})
    >>> form, atoms = to_sympy(check(parse("width * depth <= 12"), schema))
    >>> form
    depth*width <= 12
    """
    translator = _Translator(tree)
    return translator.go(tree.root), translator.atoms
