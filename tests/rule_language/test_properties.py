"""Invariants of the rule language, checked on generated input (hypothesis)."""

from __future__ import annotations

import contextlib
import datetime as dt
import string
from decimal import Decimal

import sympy
from hypothesis import given
from hypothesis import strategies as st

from rule_language import (
    RuleLanguageError,
    Schema,
    compile_expression,
    enum,
    parse,
    pretty,
)
from rule_language.parser import KEYWORDS as KEYWORDS_FOR_TESTS
from rule_language.syntax import Between, Binary, Call, Compare, If, In, ListLiteral, Literal, Path, Unary

# -- the parser only ever raises its own errors ---------------------------------------
RULE_ALPHABET = string.ascii_letters + string.digits + " \n\t()[]'\",.=<>!+-*/_@#&|\\"


@given(st.text(max_size=200))
def test_parser_raises_only_its_own_errors_on_any_text(text: str) -> None:
    with contextlib.suppress(RuleLanguageError):
        parse(text)


@given(st.text(alphabet=RULE_ALPHABET, max_size=200))
def test_parser_raises_only_its_own_errors_on_rule_like_text(text: str) -> None:
    try:
        tree = parse(text)
    except RuleLanguageError:
        return
    assert parse(pretty(tree)) == tree


# -- pretty-print then parse gives back the same tree -------------------------------------
identifiers = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda name: name not in KEYWORDS_FOR_TESTS and name != "date"
)
decimals = st.builds(lambda whole, frac: Decimal(f"{whole}.{frac}"),
                     st.integers(0, 10**6), st.from_regex(r"[0-9]{1,3}", fullmatch=True))
literals = st.one_of(
    st.integers(0, 10**9).map(Literal),
    decimals.map(Literal),
    st.builds(Literal, decimals, st.sampled_from(["EUR", "USD", "JPY", "BHD"])),
    st.text(max_size=12).map(Literal),
    st.booleans().map(Literal),
    st.dates(dt.date(1900, 1, 1), dt.date(2200, 1, 1)).map(Literal),
)
paths = st.lists(identifiers, min_size=1, max_size=3).map(lambda parts: Path(tuple(parts)))


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.builds(Unary, st.sampled_from(["-", "not"]), children),
        st.builds(Binary, st.sampled_from(["+", "-", "*", "/", "and", "or"]), children, children),
        st.builds(Compare, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), children, children),
        st.builds(In, children, st.lists(children, min_size=1, max_size=3).map(
            lambda items: ListLiteral(tuple(items))), st.booleans()),
        st.builds(Between, children, children, children),
        st.builds(If, children, children, st.none() | children),
        st.builds(Call, identifiers, st.lists(children, max_size=3).map(tuple)),
        st.lists(children, max_size=3).map(lambda items: ListLiteral(tuple(items))),
    )


trees = st.recursive(st.one_of(literals, paths), _extend, max_leaves=12)


@given(trees)
def test_pretty_print_then_parse_round_trips(tree) -> None:
    assert parse(pretty(tree)) == tree


# -- the compiled callable and the sympy form agree --------------------------------------
SCHEMA = Schema.of({
    "x": "decimal", "y": "decimal", "n": "integer", "m": "integer",
    "p": "boolean", "q": "boolean", "e": enum("a", "b", "c"),
    "d1": "date", "d2": "date",
})


def _numeric(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(["x", "y", "n", "m", "days_between(d1, d2)"]),
        st.integers(0, 20).map(str),
        st.decimals(min_value=0, max_value=20, places=2).map(lambda d: format(d, "f")),
    )
    if depth <= 0:
        return leaves
    sub = _numeric(depth - 1)
    return st.one_of(
        leaves,
        st.tuples(sub, st.sampled_from(["+", "-", "*"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.sampled_from(["2", "4", "8", "0.5", "3"])).map(lambda t: f"({t[0]} / {t[1]})"),
        st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        sub.map(lambda s: f"abs({s})"),
        sub.map(lambda s: f"-{s}"),
        st.tuples(sub, st.sampled_from(["floor", "ceil"])).map(lambda t: f"{t[1]}({t[0]})"),
        st.tuples(sub, st.sampled_from(["0.05", "1", "0.25"])).map(lambda t: f"round({t[0]}, {t[1]})"),
        st.tuples(_boolean(depth - 1), sub, sub).map(lambda t: f"(if {t[0]} then {t[1]} else {t[2]})"),
    )


def _boolean(depth: int) -> st.SearchStrategy[str]:
    leaves = st.one_of(
        st.sampled_from(["p", "q", "true", "false", "e = 'a'", "e in ['b', 'c']", "e != 'c'",
                         "d1 <= d2"]),
    )
    if depth <= 0:
        return leaves
    sub = _boolean(depth - 1)
    num = _numeric(depth - 1)
    return st.one_of(
        leaves,
        st.tuples(num, st.sampled_from(["=", "!=", "<", "<=", ">", ">="]), num).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.sampled_from(["and", "or"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        sub.map(lambda s: f"(not {s})"),
        st.tuples(sub, sub).map(lambda t: f"(if {t[0]} then {t[1]})"),
        st.tuples(num, num, num).map(lambda t: f"({t[0]} between {t[1]} and {t[2]})"),
    )


environments = st.fixed_dictionaries({
    "x": st.decimals(min_value=-100, max_value=100, places=2),
    "y": st.decimals(min_value=-100, max_value=100, places=2),
    "n": st.integers(-50, 50),
    "m": st.integers(-50, 50),
    "p": st.booleans(),
    "q": st.booleans(),
    "e": st.sampled_from(["a", "b", "c"]),
    "d1": st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)),
    "d2": st.dates(dt.date(2020, 1, 1), dt.date(2030, 1, 1)),
})


def _agree(fast, symbolic) -> bool:
    if isinstance(fast, bool):
        return symbolic is fast
    exact = sympy.Rational(str(fast))
    difference = abs(exact - symbolic)
    return bool(difference <= sympy.Rational(1, 10**20) * max(1, abs(exact)))


@given(st.one_of(_numeric(3), _boolean(3)), environments)
def test_compiled_callable_and_sympy_form_agree(text: str, env: dict) -> None:
    expression = compile_expression(text, SCHEMA)
    assert _agree(expression.evaluate(env), expression.evaluate_symbolic(env)), text


@given(st.one_of(_numeric(3), _boolean(3)), environments)
def test_evaluation_is_deterministic_and_never_yields_a_float(text: str, env: dict) -> None:
    expression = compile_expression(text, SCHEMA)
    first = expression.evaluate(env)
    assert not isinstance(first, float)
    assert expression.evaluate(env) == first
