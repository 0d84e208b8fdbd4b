"""Compile rule text once; evaluate it many times.

:func:`compile_expression` parses, type-checks against a schema, and produces a
:class:`CompiledExpression` holding both the fast Python callable and the exact
sympy form. Compilation is where every author mistake is reported; evaluation
only fails on bad input.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import Any

import sympy

from .checker import TypedTree, check
from .codegen import compile_callable
from .errors import EvaluationError, MissingValueError, RuleSyntaxError
from .parser import parse
from .printer import pretty
from .schema import Schema
from .source import Origin
from .symbolic import Atom, to_sympy
from .syntax import Node, Path
from .types import Type

__all__ = ["CompiledExpression", "compile_expression"]


@dataclass(frozen=True, eq=False)
class CompiledExpression:
    """A checked expression: its type, the symbols it reads, and how to evaluate it."""

    text: str
    tree: TypedTree
    schema: Schema
    origin: Origin
    fn: Callable[[Mapping[str, Any]], Any] = field(repr=False)
    python_source: str = field(repr=False)

    @property
    def type(self) -> Type:
        return self.tree.type

    @property
    def ast(self) -> Node:
        return self.tree.root

    @cached_property
    def symbols(self) -> frozenset[str]:
        """Every dotted path the expression reads."""
        found: set[str] = set()
        pending: list[Any] = [self.tree.root]  # a stack, not recursion: chains can be thousands deep
        while pending:
            node = pending.pop()
            if isinstance(node, Path):
                found.add(node.dotted)
            elif isinstance(node, Node):
                for name in node.__dataclass_fields__:
                    value = getattr(node, name)
                    pending.extend(value if isinstance(value, tuple) else (value,))
        return frozenset(found)

    def evaluate(self, env: Mapping[str, Any]) -> Any:
        """Evaluate on ``env`` (nested mappings); errors say where the rule came from."""
        try:
            return self.fn(env)
        except EvaluationError as exc:
            error_type = type(exc)
            raise error_type(
                exc.message, location=self.origin.locate(self.text, 0), text=self.text,
                hint=exc.hint,
            ) from None

    def pretty(self) -> str:
        """The canonical text of the expression."""
        return pretty(self.tree.root)

    @cached_property
    def _symbolic(self) -> tuple[Any, dict[sympy.Symbol, Atom]]:
        return to_sympy(self.tree)

    @property
    def sympy(self) -> Any:
        """The exact sympy form (decimals as rationals, dates as day ordinals)."""
        return self._symbolic[0]

    @property
    def atoms(self) -> Mapping[sympy.Symbol, Atom]:
        """The meaning of every atom symbol in :attr:`sympy`."""
        return self._symbolic[1]

    def evaluate_symbolic(self, env: Mapping[str, Any]) -> Any:
        """Evaluate the sympy form on ``env`` (slow; for checks and explanations).

        Returns the same Python types as :meth:`evaluate` for booleans; numbers
        come back as exact sympy numbers.
        """
        form = self.sympy
        substitutions: dict[Any, Any] = {}
        for symbol in form.free_symbols:
            atom = self.atoms.get(symbol)
            if atom is not None:
                value = _atom_value(atom, self, env)
            else:
                value = _lookup(env, symbol.name)
            substitutions[symbol] = _to_sympy_value(value)
        result = form.xreplace(substitutions) if substitutions else form
        if not (isinstance(result, sympy.logic.boolalg.BooleanAtom) or result.is_Number):
            result = sympy.simplify(result)
        if result is sympy.true:
            return True
        if result is sympy.false:
            return False
        return result


def _atom_value(atom: Atom, compiled: CompiledExpression, env: Mapping[str, Any]) -> Any:
    if atom.path is not None:
        return _lookup(env, atom.path) == atom.value
    function, _ = compile_callable(atom.tree, compiled.schema.root)
    return function(env)


def _lookup(env: Mapping[str, Any], dotted: str) -> Any:
    current: Any = env
    for part in dotted.split("."):
        if isinstance(current, list | tuple):
            current = [item[part] for item in current]
            continue
        if not isinstance(current, Mapping) or part not in current:
            raise MissingValueError(f"the input has no value for `{dotted}`")
        current = current[part]
    return current


def _to_sympy_value(value: Any) -> Any:
    if isinstance(value, bool):
        return sympy.true if value else sympy.false
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, Decimal):
        return sympy.Rational(str(value))
    if isinstance(value, dt.date):
        return sympy.Integer(value.toordinal())
    raise EvaluationError(f"cannot substitute {value!r} into a symbolic form")


def compile_expression(
    text: str,
    schema: Schema,
    *,
    expect: Type | None = None,
    origin: Origin | None = None,
) -> CompiledExpression:
    """Parse, type-check and compile ``text``.

    Raises :class:`RuleSyntaxError`, :class:`RuleTypeError` or
    :class:`UnknownSymbolError`, located through ``origin``.

    >>> schema = Schema.of({"line.quantity": "integer", "customer.segment": "string"})
    >>> rule = compile_expression("line.quantity >= 10 and customer.segment = 'gold'", schema)
    >>> rule.evaluate({"line": {"quantity": 12}, "customer": {"segment": "gold"}})
    True
    >>> sorted(rule.symbols)
    ['customer.segment', 'line.quantity']
    """
    origin = origin or Origin()
    tree = check(parse(text, origin), schema, text=text, origin=origin, expect=expect)
    try:
        fn, source = compile_callable(tree, schema.root)
    except RuleSyntaxError as exc:
        if exc.location is not None:
            raise
        raise RuleSyntaxError(exc.message, location=origin.locate(text, 0), text=_first_line(text),
                              hint=exc.hint) from None
    return CompiledExpression(text, tree, schema, origin, fn, source)


def _first_line(text: str, width: int = 60) -> str:
    line = text.strip().split("\n", 1)[0]
    return line if len(line) <= width else line[:width] + " …"
