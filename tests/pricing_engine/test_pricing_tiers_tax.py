"""Oracle and property tests for tiers, tax arithmetic and recurring schedules."""

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pricing_engine.errors import TierTableError
from pricing_engine.recurring import Period, PeriodUnit, add_periods, schedule
from pricing_engine.rounding import RoundingMode, RoundingScope, currency_exponent
from pricing_engine.tax import TaxKind, TaxPolicy, TaxRate, settle_document_taxes, tax_line
from pricing_engine.tiers import (
    Tier,
    TierMode,
    check_tiers,
    price_package,
    price_tiers,
)
from tests.strategies import currencies, money_amounts, percentages, quantities

D = Decimal
STRIPE = [
    Tier(D(1), D(5), D("7.00")),
    Tier(D(6), D(10), D("6.50")),
    Tier(D(11), None, D("6.00")),
]
VAT19 = [TaxRate("vat", "VAT 19%", rate=D(19))]


# --- Stripe's published tier examples -------------------------------------------------

@pytest.mark.parametrize(("mode", "qty", "amount"), [
    (TierMode.VOLUME, 6, "39.00"),
    (TierMode.VOLUME, 20, "120.00"),
    (TierMode.GRADUATED, 6, "41.50"),
    (TierMode.GRADUATED, 20, "127.50"),
])
def test_stripe_tier_examples_price_exactly(mode, qty, amount):
    assert price_tiers(STRIPE, qty, mode).amount == D(amount)


def test_graduated_parts_show_each_tier_used():
    parts = price_tiers(STRIPE, 20, TierMode.GRADUATED).parts
    assert [(p.quantity, p.amount) for p in parts] == [
        (D(5), D("35.00")), (D(5), D("32.50")), (D(10), D("60.00"))]


def test_flat_fee_per_tier_is_added_once_per_tier_touched():
    tiers = [Tier(D(1), D(5), D(0), D("50")), Tier(D(6), None, D(8), D("10"))]
    assert price_tiers(tiers, 3, TierMode.VOLUME).amount == D(50)
    assert price_tiers(tiers, 7, TierMode.VOLUME).amount == D(66)
    assert price_tiers(tiers, 7, TierMode.GRADUATED).amount == D(76)


def test_fractional_quantity_falls_in_the_tier_that_contains_it():
    assert price_tiers(STRIPE, D("5.5"), TierMode.VOLUME).amount == D("35.750")


def test_package_pricing_charges_started_blocks_after_free_units():
    assert price_package(0, 10, D(4)).amount == 0
    assert price_package(10, 10, D(4)).amount == D(4)
    assert price_package(11, 10, D(4)).amount == D(8)
    assert price_package(11, 10, D(4), free_units=1).amount == D(4)


def test_tier_gaps_and_overlaps_are_all_reported():
    bad = [Tier(D(2), D(5), D(1)), Tier(D(7), D(10), D(1)), Tier(D(9), None, D(1))]
    problems = check_tiers(bad)
    assert [i for i, _ in problems] == [0, 1, 2]
    assert "start at 1" in problems[0][1]
    assert "gap" in problems[1][1]
    assert "overlap" in problems[2][1]
    with pytest.raises(TierTableError):
        price_tiers(bad, 3, TierMode.VOLUME)


def test_a_quantity_beyond_a_closed_table_is_an_error():
    with pytest.raises(ValueError, match="beyond the last tier"):
        price_tiers(STRIPE[:2], 11, TierMode.VOLUME)


@given(st.integers(1, 200))
def test_graduated_never_costs_less_than_volume_for_falling_unit_prices(q):
    assert price_tiers(STRIPE, q, TierMode.GRADUATED).amount >= price_tiers(
        STRIPE, q, TierMode.VOLUME).amount


# --- tax oracles ------------------------------------------------------------------------

def test_line_level_rounding_of_1_08_times_3_at_19_percent_is_3_86():
    assert tax_line(D("3.24"), 3, VAT19, TaxPolicy(scope=RoundingScope.LINE), "EUR").gross == D("3.86")


def test_unit_level_rounding_of_1_08_times_3_at_19_percent_is_3_87():
    line = tax_line(D("3.24"), 3, VAT19, TaxPolicy(scope=RoundingScope.UNIT), "EUR")
    assert line.gross == D("3.87")
    assert line.taxes[0].amount == D("0.63")


def test_jpy_tax_excluded_22689_plus_19_percent_is_4311_tax_27000_total():
    line = tax_line(D(22689), 1, VAT19, TaxPolicy(), "JPY")
    assert (line.taxes[0].amount, line.gross) == (D(4311), D(27000))


def test_jpy_tax_included_27000_splits_into_22689_and_4311():
    line = tax_line(D(27000), 1, VAT19, TaxPolicy(prices_include_tax=True), "JPY")
    assert (line.net, line.taxes[0].amount, line.gross) == (D(22689), D(4311), D(27000))


def test_tax_on_tax_adds_an_earlier_tax_to_the_base_of_later_ones():
    rates = [TaxRate("gst", "GST", rate=D(5), compounds=True), TaxRate("qst", "QST", rate=D("9.5"))]
    line = tax_line(D("100.00"), 1, rates, TaxPolicy(), "CAD")
    assert [(t.base, t.amount) for t in line.taxes] == [(D("100.00"), D("5.00")), (D("105.00"), D("9.98"))]


def test_fixed_per_unit_tax_enters_the_vat_base_when_it_compounds():
    rates = [
        TaxRate("eco", "Eco fee", TaxKind.FIXED_PER_UNIT, amount_per_unit=D("0.50"), compounds=True),
        TaxRate("vat", "VAT 20%", rate=D(20)),
    ]
    line = tax_line(D("10.00"), 4, rates, TaxPolicy(), "EUR")
    assert [t.amount for t in line.taxes] == [D("2.00"), D("2.40")]
    included = tax_line(line.gross, 4, rates, TaxPolicy(prices_include_tax=True), "EUR")
    assert included.net == D("10.00")
    assert [t.amount for t in included.taxes] == [D("2.00"), D("2.40")]


def test_document_level_tax_rounding_sums_lines_exactly_to_the_rounded_document_tax():
    doc = TaxPolicy(scope=RoundingScope.DOCUMENT)
    lines = [tax_line(D("0.03"), 1, VAT19, doc, "EUR") for _ in range(7)]
    settled = settle_document_taxes(lines, doc, "EUR")
    assert sum(ln.tax_total for ln in settled) == D("0.04")  # 7 × 0.0057 = 0.0399
    assert all(ln.settled for ln in settled)


@given(currencies().flatmap(lambda c: st.tuples(st.just(c), money_amounts(c))),
       quantities(50), percentages(), st.booleans(),
       st.sampled_from(list(RoundingScope)), st.sampled_from(list(RoundingMode)))
def test_net_plus_taxes_equals_gross_at_currency_precision(pair, qty, pct, included, scope, mode):
    currency, amount = pair
    policy = TaxPolicy(mode=mode, scope=scope, prices_include_tax=included)
    rates = [TaxRate("a", "A", rate=pct, compounds=True), TaxRate("b", "B", rate=D("2.5"))]
    line = settle_document_taxes([tax_line(amount, qty, rates, policy, currency)], policy, currency)[0]
    exp = currency_exponent(currency)
    assert line.net + line.tax_total == line.gross
    for value in (line.net, line.gross, *(t.amount for t in line.taxes)):
        assert value == value.quantize(D(1).scaleb(-exp))
    assert (line.gross if included else line.net) == amount


# --- recurring schedules ------------------------------------------------------------------

def test_month_arithmetic_clamps_to_month_end_but_keeps_the_anchor_day():
    p = Period(PeriodUnit.MONTH)
    assert add_periods(dt.date(2028, 1, 31), p, 1) == dt.date(2028, 2, 29)
    assert add_periods(dt.date(2026, 11, 30), Period(PeriodUnit.MONTH, 3), 1) == dt.date(2027, 2, 28)


def test_calendar_aligned_first_month_is_prorated_by_days():
    s = schedule(dt.date(2026, 2, 15), Period(PeriodUnit.MONTH), align_to_calendar=True, term_periods=12)
    assert (s.prorated_days, s.period_days) == (14, 28)
    assert s.first_period_fraction == D("0.5")
    assert s.next_billing == dt.date(2026, 3, 1)
    assert s.term_end == dt.date(2027, 3, 1)


def test_a_trial_delays_the_paid_start():
    s = schedule(dt.date(2026, 1, 1), Period(PeriodUnit.MONTH), trial_days=30)
    assert s.trial_end == dt.date(2026, 1, 30)
    assert s.paid_start == dt.date(2026, 1, 31)
    assert s.first_period_fraction == 1
    assert s.next_billing == dt.date(2026, 2, 28)
