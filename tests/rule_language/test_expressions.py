"""Parsing, type checking and evaluation of rule-language expressions."""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal

import pytest

from rule_language import (
    DECIMAL_CONTEXT,
    MAX_DEPTH,
    MAX_LENGTH,
    EvaluationError,
    MissingValueError,
    Origin,
    RuleSyntaxError,
    RuleTypeError,
    Schema,
    UnknownSymbolError,
    compile_expression,
    enum,
    parse,
)

SCHEMA = Schema.of({
    "customer.segment": enum("gold", "silver", "standard"),
    "customer.name": "string",
    "customer.vat_id": "string",
    "line.quantity": "integer",
    "line.unit_price": "money[EUR]",
    "line.cost": "money",
    "order.total": "money[EUR]",
    "order.date": "date",
    "order.requested": "date",
    "width": "decimal",
    "depth": "decimal",
    "engine": enum("diesel", "petrol", "electric"),
    "gearbox": enum("M6", "A8", "A6"),
    "export": "boolean",
    "slots": {"type": "list", "of": {"type": "record", "fields": {"power": "integer", "kind": "string"}}},
    "psu.watts": "integer",
    "usd_price": "money[USD]",
})

ENV = {
    "customer": {"segment": "gold", "name": "Acme", "vat_id": None},
    "line": {"quantity": 12, "unit_price": Decimal("19.99"), "cost": Decimal("11.00")},
    "order": {"total": Decimal("1200.00"), "date": dt.date(2026, 11, 25), "requested": dt.date(2026, 12, 2)},
    "width": Decimal("3.5"),
    "depth": Decimal("3"),
    "engine": "diesel",
    "gearbox": "A8",
    "export": False,
    "slots": [{"power": 150, "kind": "gpu"}, {"power": 65, "kind": "cpu"}],
    "psu": {"watts": 250},
}


def value(text: str, env: dict | None = None):
    return compile_expression(text, SCHEMA).evaluate(env or ENV)


@pytest.mark.parametrize(("text", "expected"), [
    ("line.quantity >= 10 and customer.segment = 'gold'", True),
    ("customer.segment in ['silver', 'standard']", False),
    ("customer.segment not in ['silver', 'standard']", True),
    ("line.quantity between 10 and 20", True),
    ("line.unit_price * line.quantity", Decimal("239.88")),
    ("line.unit_price * 3 - 0.01 EUR", Decimal("59.96")),
    ("order.total / line.quantity", Decimal("100")),
    ("line.quantity / 8", Decimal("1.5")),
    ("7 / 2", Decimal("3.5")),
    ("-line.quantity + 2", -10),
    ("min(line.quantity, 5, 9)", 5),
    ("max(width, depth)", Decimal("3.5")),
    ("abs(0 - width)", Decimal("3.5")),
    ("round(line.unit_price, 0.05)", Decimal("20.00")),
    ("round(12.345, 0.01, 'half_even')", Decimal("12.34")),
    ("round(12.345, 0.01)", Decimal("12.35")),
    ("round(-12.345, 0.01)", Decimal("-12.35")),
    ("ceil(width)", 4),
    ("floor(width)", 3),
    ("floor(line.unit_price, 5)", Decimal("15")),
    ("days_between(order.date, order.requested)", 7),
    ("order.date + 7 = order.requested", True),
    ("count(slots)", 2),
    ("sum(slots.power) <= psu.watts", True),
    ("max(slots.power)", 150),
    ("'gpu' in slots.kind", True),
    ("if engine = 'diesel' then gearbox in ['M6', 'A8']", True),
    ("if export then 0 else 19", 19),
    ("if line.quantity > 10 then 0.9 else 1", Decimal("0.9")),
    ("width * depth <= 12", True),
    ("is_set(customer.vat_id)", False),
    ("is_set(customer.name)", True),
    ("not export and not (line.quantity < 5)", True),
    ("starts_with(customer.name, 'Ac')", True),
    ("year(order.date) * 100 + month(order.date)", 202611),
    ("weekday(order.date)", 3),
    ("date('2026-01-31') < order.date", True),
    ("\"it's\" = 'it\\'s'", True),
])
def test_expressions_evaluate_exactly(text: str, expected: object) -> None:
    result = value(text)
    assert result == expected
    assert type(result) is type(expected) or (isinstance(expected, Decimal) and isinstance(result, Decimal))


def test_money_arithmetic_never_produces_a_float() -> None:
    result = value("line.unit_price * 1.19 / 3")
    assert isinstance(result, Decimal)
    ctx = DECIMAL_CONTEXT
    assert result == ctx.divide(ctx.multiply(Decimal("19.99"), Decimal("1.19")), 3)
    assert result == Decimal("7.929366666666666666666666666666667")  # 34 significant digits


def test_a_float_in_the_input_is_refused() -> None:
    env = {**ENV, "line": {**ENV["line"], "unit_price": 19.99}}
    with pytest.raises(EvaluationError, match="float"):
        value("line.unit_price * 2", env)


def test_evaluation_ignores_the_callers_decimal_context() -> None:
    expression = compile_expression("line.unit_price / 3", SCHEMA)
    expected = expression.evaluate(ENV)
    with decimal.localcontext() as ctx:
        ctx.prec = 3
        ctx.rounding = decimal.ROUND_DOWN
        assert expression.evaluate(ENV) == expected


def test_evaluating_twice_gives_the_same_answer() -> None:
    expression = compile_expression("round(line.unit_price * line.quantity / 7, 0.01)", SCHEMA)
    assert expression.evaluate(ENV) == expression.evaluate(ENV)


def test_a_missing_input_names_the_path() -> None:
    with pytest.raises(MissingValueError, match="quantity"):
        value("line.quantity > 3", {"line": {}})


def test_division_by_zero_is_an_evaluation_error_with_the_rule_location() -> None:
    expression = compile_expression("width / (depth - 3)", SCHEMA, origin=Origin("p.yaml", 7, 12))
    with pytest.raises(EvaluationError, match="division by zero") as caught:
        expression.evaluate(ENV)
    assert str(caught.value.location) == "p.yaml:7:12"


def test_symbols_lists_every_path_read() -> None:
    expression = compile_expression("if export then line.quantity else sum(slots.power)", SCHEMA)
    assert expression.symbols == {"export", "line.quantity", "slots.power"}


# -- errors: what, where, and how to fix -------------------------------------------
@pytest.mark.parametrize(("text", "error", "column", "fragment", "hint"), [
    ("line.quantiy > 3", UnknownSymbolError, 1, "unknown symbol `line.quantiy`", "line.quantity"),
    ("cusotmer.segment = 'gold'", UnknownSymbolError, 1, "unknown symbol `cusotmer`", "customer"),
    ("engine = 'disel'", UnknownSymbolError, 10, "'disel' is not one of the values", "diesel"),
    ("customer.name > 3", RuleTypeError, 1, "cannot compare string with integer", "quote numbers"),
    ("line.unit_price + usd_price", RuleTypeError, 1, "money of two currencies: EUR and USD", "convert"),
    ("line.unit_price + 1", RuleTypeError, 1, "cannot add money[EUR] and integer", "1.00 EUR"[2:]),
    ("line.quantity and export", RuleTypeError, 1, "`and` needs a condition", None),
    ("roundd(width, 1)", UnknownSymbolError, 1, "unknown function `roundd`", "round"),
    ("round(width, 0)", RuleTypeError, 14, "step of `round` must be a positive number", None),
    ("if export then 1", RuleTypeError, 1, "without `else` must be a condition", "add `else`"),
    ("engine < 'petrol'", RuleTypeError, 1, "enumerated values have no order", None),
    ("export + 1", RuleTypeError, 1, "`+` needs numbers", None),
])
def test_type_errors_say_what_where_and_how_to_fix(text, error, column, fragment, hint) -> None:
    with pytest.raises(error) as caught:
        compile_expression(text, SCHEMA, origin=Origin("r.yaml", 4, 10))
    assert fragment in caught.value.message
    assert caught.value.location.file == "r.yaml"
    assert caught.value.location.line == 4
    assert caught.value.location.column == 10 + column - 1
    if hint:
        assert hint in (caught.value.hint or "")


@pytest.mark.parametrize(("text", "column", "fragment"), [
    ("a +", 4, "ends too early"),
    ("(a + b", 7, "expected `)`"),
    ("a < b < c", 7, "unexpected `<`"),
    ("a && b", 3, "unexpected character '&'"),
    ("a = 'open", 5, "unexpected character"),
    ("12 EURO", 4, "is not a currency code"),
    ("date('2026-02-30')", 6, "not a date"),
    ("x AND y", 3, "unexpected `AND`"),
    ("", 1, "empty expression"),
    ("[1, 2", 6, "expected `]`"),
])
def test_syntax_errors_point_at_the_offending_character(text: str, column: int, fragment: str) -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse(text)
    assert fragment in str(caught.value)
    assert caught.value.location.column == column


def test_keywords_in_capitals_get_a_hint() -> None:
    with pytest.raises(RuleSyntaxError) as caught:
        parse("x AND y")
    assert "lower case" in (caught.value.hint or "")


def test_hostile_input_fails_fast_on_length_and_depth() -> None:
    with pytest.raises(RuleSyntaxError, match="longer than"):
        parse("1 + " * (MAX_LENGTH // 4) + "1")
    with pytest.raises(RuleSyntaxError, match="nested deeper"):
        parse("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1))
    with pytest.raises(RuleSyntaxError, match="nested deeper"):
        parse("-" * 1000 + "1")
    with pytest.raises(RuleSyntaxError, match="digits"):
        parse("1" * 100)


def test_no_author_text_reaches_the_generated_python() -> None:
    sneaky = "customer.name = '__import__(\"os\").system(\"echo pwned\")'"
    expression = compile_expression(sneaky, SCHEMA)
    assert "__import__" not in expression.python_source
    assert expression.evaluate(ENV) is False


def test_multi_line_rule_errors_map_to_the_right_file_line() -> None:
    text = "line.quantity > 3 and\ncustomer.segmnt = 'gold'"
    with pytest.raises(UnknownSymbolError) as caught:
        compile_expression(text, SCHEMA, origin=Origin("f.yaml", 10, 9, indent=5))
    assert (caught.value.location.line, caught.value.location.column) == (11, 5)


def test_sympy_form_is_exact_and_readable() -> None:
    expression = compile_expression("width * depth <= 12.5", SCHEMA)
    assert str(expression.sympy) == "depth*width <= 25/2"
    conditional = compile_expression("if engine = 'diesel' then gearbox in ['M6', 'A8']", SCHEMA)
    names = {atom.path + "=" + atom.value for atom in conditional.atoms.values() if atom.path}
    assert names == {"engine=diesel", "gearbox=M6", "gearbox=A8"}
