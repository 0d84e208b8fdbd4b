"""Pricing runs under its own decimal context: the caller's ambient one never changes a result.

A caller may have set ``decimal.getcontext().prec = 6`` (or a rounding mode, or
traps) for its own reasons; prices, taxes and totals must come out exactly as under
the default context, digit for digit.
"""

from __future__ import annotations

import datetime as dt
import decimal
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing_engine import (
    Money,
    Period,
    PeriodUnit,
    PricedOrder,
    RoundingScope,
    TaxPolicy,
    TaxRate,
    Tier,
    TierMode,
    allocate,
    allocate_units,
    check_tiers,
    price_package,
    price_tiers,
    schedule,
    settle_document_taxes,
    tax_line,
)
from tests.pricing_engine.helpers import VAT, bundle, price, price_list
from tests.strategies import money_amounts, quantities

D = Decimal

#: Ambient contexts a careless caller might leave behind.
HOSTILE = [
    pytest.param({"prec": 6}, id="prec6"),
    pytest.param({"prec": 6, "rounding": decimal.ROUND_DOWN}, id="prec6-down"),
    pytest.param({"prec": 3, "rounding": decimal.ROUND_CEILING}, id="prec3-ceiling"),
    pytest.param({"rounding": decimal.ROUND_CEILING, "traps": [decimal.Inexact, decimal.Rounded]},
                 id="trap-inexact"),
    pytest.param({"prec": 9, "rounding": decimal.ROUND_05UP, "Emax": 8, "Emin": -8}, id="tiny-exponents"),
]


def hostile_contexts() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "prec": st.integers(1, 12),
        "rounding": st.sampled_from([decimal.ROUND_DOWN, decimal.ROUND_UP, decimal.ROUND_CEILING,
                                     decimal.ROUND_FLOOR, decimal.ROUND_HALF_UP,
                                     decimal.ROUND_HALF_DOWN, decimal.ROUND_05UP]),
        "traps": st.sampled_from([[], [decimal.Inexact], [decimal.Rounded, decimal.Inexact]]),
    })


def exactly(p: PricedOrder) -> str:
    """Every amount with its exponent (``1E+6`` and ``1000000`` differ here, not under ``==``)."""
    return p.model_dump_json()


PROMOS = """\
kind: discount_rules
name: promos
version: 1
currency: EUR
discounts:
  - {id: b-off, type: amount, per: unit, value: 0.05, applies_to: {skus: [B]}}
  - {id: tiers-7, type: percent, value: 7, applies_to: {skus: [T]}}
  - {id: ten, type: percent, level: order, value: 10, stage: 200}
"""

DOC_VAT = VAT.replace("scope: line", "scope: document")

SERVICE = """\
kind: service_charges
name: svc
version: 1
services:
  - sku: PLAN
    align_to_calendar: true
    charges:
      - {id: setup, kind: one_time, per: line, price: {EUR: 50000.00}}
      - {id: seat, kind: recurring, period: month, price: {EUR: 31333.33}}
"""


def sample_rules(a_price: str = "1234567.89", vat: str = VAT) -> Any:
    return bundle(price_list(f"""\
        - {{sku: A, price: {a_price}}}
        - {{sku: B, price: 0.333}}
        - sku: T
          tier_mode: graduated
          tiers:
            - {{from: 1, to: 100, unit_price: 98765.4321}}
            - {{from: 101, unit_price: 87654.3219}}
        """), vat, PROMOS, SERVICE)


SAMPLE_LINES = [
    {"sku": "A", "quantity": 7},
    {"sku": "B", "quantity": 3},
    {"sku": "T", "quantity": 250, "manual_adjustments": [
        {"type": "percent", "value": "3.3", "reason": "loyal", "role": "rep"}]},
    {"sku": "PLAN", "quantity": 17, "service": {"start_date": "2026-03-21"}},
]


@pytest.mark.parametrize("ambient", HOSTILE)
@pytest.mark.parametrize("vat", [VAT, DOC_VAT], ids=["line-tax", "document-tax"])
def test_an_ambient_decimal_context_never_changes_a_priced_order(ambient, vat):
    rules = sample_rules(vat=vat)
    expected = price(rules, SAMPLE_LINES, as_of=dt.date(2026, 3, 21))
    assert expected.totals.gross > D("10000000")  # large enough for prec 6 to matter
    with decimal.localcontext(**ambient):
        got = price(rules, SAMPLE_LINES, as_of=dt.date(2026, 3, 21))
    assert exactly(got) == exactly(expected)


@pytest.mark.parametrize("ambient", HOSTILE)
def test_rulesets_loaded_under_an_ambient_context_price_the_same(ambient):
    expected = price(sample_rules(), SAMPLE_LINES, as_of=dt.date(2026, 3, 21))
    with decimal.localcontext(**ambient):
        rules = sample_rules()
    assert exactly(price(rules, SAMPLE_LINES, as_of=dt.date(2026, 3, 21))) == exactly(expected)


def test_the_ambient_context_is_left_as_the_caller_set_it():
    rules = sample_rules()
    with decimal.localcontext(prec=6, rounding=decimal.ROUND_DOWN) as ctx:
        price(rules, SAMPLE_LINES, as_of=dt.date(2026, 3, 21))
        assert decimal.getcontext() is ctx
        assert (ctx.prec, ctx.rounding) == (6, decimal.ROUND_DOWN)


@settings(max_examples=25)
@given(unit=money_amounts("EUR", min_units=1, max_units=10**11), qty=quantities(),
       ambient=hostile_contexts())
def test_any_price_and_quantity_price_the_same_under_any_ambient_context(unit, qty, ambient):
    rules = sample_rules(a_price=str(unit), vat=DOC_VAT)
    lines = [{"sku": "A", "quantity": qty}, {"sku": "B", "quantity": qty}]
    expected = price(rules, lines)
    with decimal.localcontext(**ambient):
        got = price(rules, lines)
    assert exactly(got) == exactly(expected)


# --- the public helpers, called directly -------------------------------------------------------

VAT19 = [TaxRate("vat", "VAT 19%", rate=D(19))]
TIERS = [Tier(D(1), D(999999), D("1234.5678")), Tier(D(1000000), None, D("1234.5677"))]


def helpers() -> list[Any]:
    doc = TaxPolicy(scope=RoundingScope.DOCUMENT)
    return [
        allocate(Money(D("98765432.11"), "EUR"), [D("1234567.891"), D("7654321.987"), D(3)]),
        allocate_units(987654321, [D("1234567.891"), D("7654321.987"), D(3)]),
        price_tiers(TIERS, 1234567, TierMode.GRADUATED),
        price_tiers(TIERS, 1234567, TierMode.VOLUME),
        price_package(12345678, 7, D("12345.67"), free_units=3),
        check_tiers([Tier(D(1), D(1234567), D(1)), Tier(D(1234569), None, D(1))]),
        tax_line(D("12345678.91"), 3, VAT19, TaxPolicy(), "EUR"),
        tax_line(D("12345678.91"), 3, VAT19, TaxPolicy(prices_include_tax=True), "EUR").tax_total,
        settle_document_taxes([tax_line(D("1234567.891"), 1, VAT19, doc, "EUR")] * 3, doc, "EUR"),
        schedule(dt.date(2026, 5, 17), Period(PeriodUnit.MONTH), align_to_calendar=True),
        -Money(D("123456789.123"), "EUR"),
        abs(Money(D("-123456789.123"), "EUR")),
    ]


@pytest.mark.parametrize("ambient", HOSTILE)
def test_the_public_money_helpers_ignore_the_ambient_context(ambient):
    expected = repr(helpers())
    with decimal.localcontext(**ambient):
        got = repr(helpers())
    assert got == expected
