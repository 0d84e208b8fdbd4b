"""Static type checking of a parsed expression against a :class:`Schema`.

The checker runs once, at load time, and returns the type of every node (keyed
by node identity) so that the code generator and the sympy translator never
have to guess. Errors point at the offending node's text with the file location
and, for unknown names or enum values, a "did you mean".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from .errors import RuleLanguageError, RuleTypeError, UnknownSymbolError
from .schema import Schema, suggest
from .source import Origin
from .syntax import Between, Binary, Call, Compare, If, In, ListLiteral, Literal, Node, Path, Unary, chain
from .types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    INTEGER,
    STRING,
    BoolType,
    DateType,
    DecimalType,
    EnumType,
    IntegerType,
    ListType,
    MoneyType,
    RecordType,
    StringType,
    Type,
)

__all__ = ["FUNCTIONS", "TypedTree", "check"]


@dataclass(frozen=True)
class TypedTree:
    """A parsed expression with the type of each of its nodes."""

    root: Node
    types: dict[int, Type]

    @property
    def type(self) -> Type:
        return self.types[id(self.root)]

    def type_of(self, node: Node) -> Type:
        return self.types[id(node)]


ROUNDING_MODES = ("half_up", "half_even", "down", "up", "ceiling", "floor")


class _Checker:
    def __init__(self, text: str, schema: Schema, origin: Origin) -> None:
        self.text = text
        self.schema = schema
        self.origin = origin
        self.types: dict[int, Type] = {}

    def fail(self, node: Node, message: str, hint: str | None = None,
             error: type[RuleLanguageError] = RuleTypeError) -> RuleLanguageError:
        snippet = self.text[node.span.start : node.span.end] or self.text
        return error(
            message, location=self.origin.locate(self.text, node.span.start), text=snippet, hint=hint
        )

    def visit(self, node: Node) -> Type:
        handler = getattr(self, "visit_" + type(node).__name__)
        result: Type = handler(node)
        self.types[id(node)] = result
        return result

    # -- leaves --------------------------------------------------------------
    def visit_Literal(self, node: Literal) -> Type:
        value = node.value
        if isinstance(value, bool):
            return BOOLEAN
        if isinstance(value, int):
            return INTEGER
        if isinstance(value, Decimal):
            return MoneyType(node.currency) if node.currency else DECIMAL
        if isinstance(value, dt.date):
            return DATE
        return STRING

    def visit_Path(self, node: Path) -> Type:
        try:
            return self.schema.resolve(node.dotted)
        except UnknownSymbolError as exc:
            raise self.fail(node, exc.message, exc.hint, UnknownSymbolError) from None

    # -- operators -----------------------------------------------------------
    def visit_Unary(self, node: Unary) -> Type:
        operand = self.visit(node.operand)
        if node.op == "not":
            self.require_boolean(node.operand, operand, "`not`")
            return BOOLEAN
        if not operand.is_numeric:
            raise self.fail(node, f"cannot negate a {operand}")
        return operand

    def visit_Binary(self, node: Binary) -> Type:
        # A chain (`a or b or c …`, `a + b - c …`) is walked in a loop, not recursively.
        first, links = chain(node)
        left = self.visit(first)
        for link in links:
            right = self.visit(link.right)
            if link.op in ("and", "or"):
                self.require_boolean(link.left, left, f"`{link.op}`")
                self.require_boolean(link.right, right, f"`{link.op}`")
                left = BOOLEAN
            else:
                left = self.arithmetic(link, link.op, left, right)
            self.types[id(link)] = left
        return left

    def arithmetic(self, node: Node, op: str, left: Type, right: Type) -> Type:
        if op in ("+", "-") and isinstance(left, DateType) and isinstance(right, IntegerType):
            return DATE
        if not (left.is_numeric and right.is_numeric):
            bad = left if not left.is_numeric else right
            hint = "use days_between(a, b) for dates" if isinstance(bad, DateType) else None
            raise self.fail(node, f"`{op}` needs numbers, not {left} and {right}", hint)
        lm, rm = isinstance(left, MoneyType), isinstance(right, MoneyType)
        if op in ("+", "-"):
            if lm and rm:
                return self.same_currency(node, left, right)
            if lm or rm:
                example = "5.00 " + ((left if lm else right).currency or "EUR")  # type: ignore[union-attr]
                raise self.fail(
                    node, f"cannot {'add' if op == '+' else 'subtract'} {left} and {right}",
                    hint=f"write the amount with its currency, e.g. `{example}`",
                )
            return _join_numbers(left, right)
        if op == "*":
            if lm and rm:
                raise self.fail(node, "cannot multiply money by money")
            if lm or rm:
                return left if lm else right
            return _join_numbers(left, right)
        # division
        if lm and rm:
            self.same_currency(node, left, right)
            return DECIMAL
        if rm:
            raise self.fail(node, "cannot divide a number by money")
        if lm:
            return left
        return DECIMAL

    def same_currency(self, node: Node, left: Type, right: Type) -> Type:
        assert isinstance(left, MoneyType) and isinstance(right, MoneyType)
        if left.currency and right.currency and left.currency != right.currency:
            raise self.fail(
                node, f"money of two currencies: {left.currency} and {right.currency}",
                hint="convert one amount first; amounts in different currencies never mix",
            )
        return left if left.currency else right

    def visit_Compare(self, node: Compare) -> Type:
        left = self.visit(node.left)
        right = self.visit(node.right)
        self.comparable(node, left, right, node.left, node.right, ordered=node.op not in ("=", "!="))
        return BOOLEAN

    def comparable(self, node: Node, left: Type, right: Type, lnode: Node, rnode: Node,
                   *, ordered: bool) -> None:
        if left.is_numeric and right.is_numeric:
            if isinstance(left, MoneyType) and isinstance(right, MoneyType):
                self.same_currency(node, left, right)
            return
        if left.is_textual and right.is_textual:
            if ordered and (isinstance(left, EnumType) or isinstance(right, EnumType)):
                raise self.fail(node, "enumerated values have no order; compare with `=` or `in`")
            self.enum_literal(left, rnode)
            self.enum_literal(right, lnode)
            return
        if isinstance(left, DateType) and isinstance(right, DateType):
            return
        if isinstance(left, BoolType) and isinstance(right, BoolType):
            if ordered:
                raise self.fail(node, "booleans have no order")
            return
        hint = None
        if (left.is_textual and right.is_numeric) or (left.is_numeric and right.is_textual):
            hint = "quote numbers meant as text, or compare with a number"
        raise self.fail(node, f"cannot compare {left} with {right}", hint)

    def enum_literal(self, enum_type: Type, node: Node) -> None:
        """A string literal compared with an enumeration must be one of its values."""
        if (
            isinstance(enum_type, EnumType)
            and isinstance(node, Literal)
            and isinstance(node.value, str)
            and node.value not in enum_type.values
        ):
            raise self.fail(
                node, f"{node.value!r} is not one of the values {enum_type}",
                hint=suggest(node.value, enum_type.values), error=UnknownSymbolError,
            )

    def visit_In(self, node: In) -> Type:
        value = self.visit(node.value)
        options = node.options
        if isinstance(options, ListLiteral):
            self.types[id(options)] = ListType(value)
            if not options.items:
                raise self.fail(options, "`in` needs at least one value")
            for item in options.items:
                item_type = self.visit(item)
                self.comparable(item, value, item_type, node.value, item, ordered=False)
            return BOOLEAN
        options_type = self.visit(options)
        if not isinstance(options_type, ListType):
            raise self.fail(options, f"`in` needs a list, not a {options_type}",
                            hint="write `x in ['a', 'b']`")
        self.comparable(node, value, options_type.item, node.value, options, ordered=False)
        return BOOLEAN

    def visit_Between(self, node: Between) -> Type:
        value = self.visit(node.value)
        for bound in (node.low, node.high):
            self.comparable(node, value, self.visit(bound), node.value, bound, ordered=True)
        return BOOLEAN

    def visit_If(self, node: If) -> Type:
        self.require_boolean(node.condition, self.visit(node.condition), "`if`")
        then = self.visit(node.then)
        if node.otherwise is None:
            if not isinstance(then, BoolType):
                raise self.fail(node, "`if … then …` without `else` must be a condition",
                                hint="add `else` with the value for the other case")
            return BOOLEAN
        otherwise = self.visit(node.otherwise)
        joined = _join(then, otherwise)
        if joined is None:
            raise self.fail(node, f"the branches have different types: {then} and {otherwise}")
        return joined

    def visit_ListLiteral(self, node: ListLiteral) -> Type:
        item_type: Type | None = None
        for item in node.items:
            current = self.visit(item)
            joined = current if item_type is None else _join(item_type, current)
            if joined is None:
                raise self.fail(item, f"list items have different types: {item_type} and {current}")
            item_type = joined
        return ListType(item_type or STRING)

    def visit_Call(self, node: Call) -> Type:
        signature = FUNCTIONS.get(node.name)
        if signature is None:
            listing = "functions: " + ", ".join(sorted(FUNCTIONS))
            raise self.fail(node, f"unknown function `{node.name}`",
                            hint=suggest(node.name, FUNCTIONS) or listing, error=UnknownSymbolError)
        if node.name == "is_set":
            if len(node.args) != 1 or not isinstance(node.args[0], Path):
                raise self.fail(node, "`is_set` takes one path, e.g. `is_set(customer.vat_id)`")
            self.visit(node.args[0])
            return BOOLEAN
        arg_types = [self.visit(arg) for arg in node.args]
        return signature(self, node, arg_types)

    # -- helpers ---------------------------------------------------------------
    def require_boolean(self, node: Node, found: Type, where: str) -> None:
        if not isinstance(found, BoolType):
            raise self.fail(node, f"{where} needs a condition, not a {found}")


def _join_numbers(left: Type, right: Type) -> Type:
    if isinstance(left, IntegerType) and isinstance(right, IntegerType):
        return INTEGER
    return DECIMAL


def _join(left: Type, right: Type) -> Type | None:
    """The common type of two branches or list items, or None when there is none."""
    if left == right:
        return left
    if isinstance(left, MoneyType) and isinstance(right, MoneyType):
        if left.currency and right.currency and left.currency != right.currency:
            return None
        return left if left.currency else right
    if isinstance(left, IntegerType | DecimalType) and isinstance(right, IntegerType | DecimalType):
        return DECIMAL
    if left.is_textual and right.is_textual:
        if isinstance(left, EnumType) and isinstance(right, EnumType):
            return EnumType(tuple(dict.fromkeys(left.values + right.values)))
        return STRING
    if isinstance(left, ListType) and isinstance(right, ListType):
        item = _join(left.item, right.item)
        return ListType(item) if item else None
    return None


# -- functions: each returns the result type or raises ------------------------
Signature = Callable[[_Checker, Call, list[Type]], Type]


def _arity(checker: _Checker, node: Call, types: list[Type], low: int, high: int) -> None:
    if not low <= len(types) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise checker.fail(node, f"`{node.name}` takes {expected} argument(s), got {len(types)}")


def _numeric(checker: _Checker, node: Node, found: Type, what: str) -> None:
    if not found.is_numeric:
        raise checker.fail(node, f"{what} must be a number, not a {found}")


def _extremum(checker: _Checker, node: Call, types: list[Type]) -> Type:
    if len(types) == 1 and isinstance(types[0], ListType):
        types = [types[0].item]
    elif len(types) < 2:
        raise checker.fail(node, f"`{node.name}` takes a list or at least two values")
    result: Type | None = types[0]
    for arg, found in zip(node.args, types, strict=False):
        if not (found.is_numeric or isinstance(found, DateType)):
            raise checker.fail(arg, f"`{node.name}` compares numbers or dates, not a {found}")
        result = _join(result, found) if result is not None else None
    if result is None:
        raise checker.fail(node, f"`{node.name}` arguments have different types")
    return result


def _abs(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 1, 1)
    _numeric(checker, node.args[0], types[0], "the argument of `abs`")
    return types[0]


def _step_argument(checker: _Checker, node: Call, types: list[Type], index: int) -> None:
    arg = node.args[index]
    if not (isinstance(arg, Literal) and isinstance(arg.value, int | Decimal)
            and not isinstance(arg.value, bool) and arg.value > 0):
        raise checker.fail(arg, f"the step of `{node.name}` must be a positive number literal",
                           hint=f"e.g. `{node.name}(price, 0.05)`")


def _round(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 2, 3)
    _numeric(checker, node.args[0], types[0], f"the value of `{node.name}`")
    _step_argument(checker, node, types, 1)
    if len(types) == 3:
        mode = node.args[2]
        if not (isinstance(mode, Literal) and mode.value in ROUNDING_MODES):
            raise checker.fail(mode, "unknown rounding mode",
                               hint="one of " + ", ".join(f"'{m}'" for m in ROUNDING_MODES))
    return types[0] if not isinstance(types[0], IntegerType) else DECIMAL


def _ceil_floor(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 1, 2)
    _numeric(checker, node.args[0], types[0], f"the value of `{node.name}`")
    if len(types) == 2:
        _step_argument(checker, node, types, 1)
        return types[0]
    return types[0] if isinstance(types[0], MoneyType) else INTEGER


def _days_between(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 2, 2)
    for arg, found in zip(node.args, types, strict=True):
        if not isinstance(found, DateType):
            raise checker.fail(arg, f"`days_between` takes dates, not a {found}")
    return INTEGER


def _count(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 1, 1)
    if not isinstance(types[0], ListType):
        raise checker.fail(node.args[0], f"`count` takes a list, not a {types[0]}")
    return INTEGER


def _sum(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 1, 1)
    found = types[0]
    if not isinstance(found, ListType) or not found.item.is_numeric:
        raise checker.fail(node.args[0], f"`sum` takes a list of numbers, not a {found}",
                           hint="e.g. `sum(lines.quantity)`")
    return found.item


def _any_all(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 1, 1)
    found = types[0]
    if not isinstance(found, ListType) or not isinstance(found.item, BoolType):
        raise checker.fail(node.args[0], f"`{node.name}` takes a list of conditions, not a {found}")
    return BOOLEAN


def _starts_with(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 2, 2)
    for arg, found in zip(node.args, types, strict=True):
        if not found.is_textual:
            raise checker.fail(arg, f"`{node.name}` takes text, not a {found}")
    return BOOLEAN


def _date_part(checker: _Checker, node: Call, types: list[Type]) -> Type:
    _arity(checker, node, types, 1, 1)
    if not isinstance(types[0], DateType):
        raise checker.fail(node.args[0], f"`{node.name}` takes a date, not a {types[0]}")
    return INTEGER


FUNCTIONS: dict[str, Signature] = {
    "min": _extremum,
    "max": _extremum,
    "abs": _abs,
    "round": _round,
    "ceil": _ceil_floor,
    "floor": _ceil_floor,
    "days_between": _days_between,
    "count": _count,
    "sum": _sum,
    "any": _any_all,
    "all": _any_all,
    "starts_with": _starts_with,
    "year": _date_part,
    "month": _date_part,
    "weekday": _date_part,
    "is_set": lambda checker, node, types: BOOLEAN,  # checked specially (takes a path)
}


def check(tree: Node, schema: Schema, *, text: str = "", origin: Origin | None = None,
          expect: Type | None = None) -> TypedTree:
    """Type-check ``tree``; with ``expect``, the result must have that type.

    Integers are accepted where decimals are expected, and money of the
    document's currency where a specific currency is expected.
    """
    checker = _Checker(text, schema, origin or Origin())
    found = checker.visit(tree)
    if expect is not None and not _accepts(expect, found):
        raise checker.fail(tree, f"expected a {expect}, but this is a {found}")
    return TypedTree(tree, checker.types)


def _accepts(expected: Type, found: Type) -> bool:
    if expected == found:
        return True
    if isinstance(expected, DecimalType) and isinstance(found, IntegerType):
        return True
    if isinstance(expected, MoneyType) and isinstance(found, MoneyType):
        return expected.currency is None or found.currency in (None, expected.currency)
    if isinstance(expected, StringType) and isinstance(found, EnumType):
        return True
    if isinstance(expected, EnumType) and isinstance(found, EnumType):
        return set(found.values) <= set(expected.values)
    if isinstance(expected, RecordType | ListType):
        return expected == found
    return False
