"""``tarif eval EXPR --var name=value``: evaluate one expression, for rule authors.

Variable types are read from the values: ``10`` is an integer, ``12.50`` a
decimal, ``12.50 EUR`` money, ``2026-01-31`` a date, ``true``/``false`` a
boolean, anything else text. ``--explain`` also prints the sympy form.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from decimal import Decimal
from typing import Any

from rule_language import (
    BOOLEAN,
    DATE,
    DECIMAL,
    INTEGER,
    STRING,
    RuleLanguageError,
    Schema,
    Type,
    compile_expression,
    money,
)

_MONEY = re.compile(r"^(-?\d+(?:\.\d+)?)\s+([A-Z]{3})$")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("eval", help="evaluate one rule-language expression")
    parser.add_argument("expression", metavar="EXPR")
    parser.add_argument("--var", action="append", default=[], metavar="NAME=VALUE",
                        help="a value for a dotted name, e.g. --var line.quantity=12")
    parser.add_argument("--explain", action="store_true", help="also print the type and sympy form")
    parser.set_defaults(handler=run)


def read_value(text: str) -> tuple[Any, Type]:
    """A command-line value and the type it implies."""
    if text in ("true", "false"):
        return text == "true", BOOLEAN
    if re.fullmatch(r"-?\d+", text):
        return int(text), INTEGER
    if re.fullmatch(r"-?\d+\.\d+", text):
        return Decimal(text), DECIMAL
    match = _MONEY.match(text)
    if match:
        return Decimal(match.group(1)), money(match.group(2))
    try:
        return dt.date.fromisoformat(text), DATE
    except ValueError:
        return text, STRING


def _assign(env: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, leaf = dotted.split(".")
    for part in parents:
        env = env.setdefault(part, {})
    env[leaf] = value


def run(args: argparse.Namespace) -> int:
    env: dict[str, Any] = {}
    declarations: dict[str, Type] = {}
    for item in args.var:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            print(f"tarif eval: --var needs NAME=VALUE, got {item!r}")
            return 2
        value, value_type = read_value(raw)
        declarations[name] = value_type
        _assign(env, name, value)
    try:
        compiled = compile_expression(args.expression, Schema.of(declarations))
        result = compiled.evaluate(env)
    except RuleLanguageError as exc:
        print(exc)
        return 1
    print(_show(result))
    if args.explain:
        print(f"type:  {compiled.type}")
        print(f"text:  {compiled.pretty()}")
        print(f"sympy: {compiled.sympy}")
    return 0


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)
