"""price_order end to end: oracles, precedence, stacking, rounding, services, approvals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from pricing_engine import NoPriceError, PricingEvaluationError
from tests.pricing_engine.helpers import DAY, VAT, bundle, price, price_list

D = Decimal


def vat(scope: str = "line", rate: str = "19", country: str = "DE") -> str:
    return (f"kind: tax_rules\nname: vat-{scope}\nversion: 1\npolicy: {{mode: half_up, scope: {scope}}}\n"
            f"taxes:\n  - {{id: vat, country: {country}, rate: {rate}}}\n")


# --- published oracles through the whole pipeline ----------------------------------------

@pytest.mark.parametrize(("scope", "gross", "tax"), [("line", "3.86", "0.62"), ("unit", "3.87", "0.63")])
def test_unit_versus_line_tax_rounding_of_1_08_times_3_at_19_percent(scope, gross, tax):
    rules = bundle(price_list("- {sku: A, price: 1.08}\n"), vat(scope))
    p = price(rules, [{"sku": "A", "quantity": 3}])
    assert (p.totals.net, p.totals.tax, p.totals.gross) == (D("3.24"), D(tax), D(gross))


def test_jpy_22689_plus_19_percent_is_4311_tax_and_27000_total():
    rules = bundle(price_list("- {sku: A, price: 22689}\n", currency="JPY"), vat(country="JP"))
    p = price(rules, [{"sku": "A"}], currency="JPY", ship_to={"country": "JP"})
    assert (p.totals.net, p.totals.tax, p.totals.gross) == (D(22689), D(4311), D(27000))
    assert str(p.totals.gross) == "27000"


def test_jpy_27000_tax_included_splits_into_22689_and_4311():
    rules = bundle(price_list("- {sku: A, price: 27000}\n", currency="JPY",
                              extra="prices_include_tax: true\n"), vat(country="JP"))
    p = price(rules, [{"sku": "A"}], currency="JPY", ship_to={"country": "JP"})
    line = p.lines[0]
    assert (line.net, line.tax_total, line.gross) == (D(22689), D(4311), D(27000))
    assert p.taxes[0].amount == D(4311)


@pytest.mark.parametrize(("mode", "qty", "amount"), [
    ("volume", 6, "39.00"), ("volume", 20, "120.00"), ("graduated", 6, "41.50"), ("graduated", 20, "127.50")])
def test_stripe_tier_examples_through_the_pipeline(mode, qty, amount):
    rules = bundle(price_list(f"""\
        - sku: A
          tier_mode: {mode}
          tiers:
            - {{from: 1, to: 5, unit_price: 7.00}}
            - {{from: 6, to: 10, unit_price: 6.50}}
            - {{from: 11, unit_price: 6.00}}
        """))
    assert price(rules, [{"sku": "A", "quantity": qty}]).totals.net == D(amount)


def test_package_pricing_charges_per_started_block():
    rules = bundle(price_list("- {sku: A, package: {block_size: 10, block_price: 4.00, free_units: 2}}\n"))
    assert price(rules, [{"sku": "A", "quantity": 23}]).totals.net == D("12.00")


# --- price list selection -------------------------------------------------------------------

SELECTION = [
    price_list("- {sku: A, price: 10.00}\n", name="base"),
    price_list("- {sku: A, price: 9.00}\n", name="web", extra="for: {channels: [web]}\n"),
    price_list("- {sku: A, price: 8.00}\n", name="gold", extra="for: {segments: [gold]}\n"),
    price_list("- {sku: A, price: 7.00}\n", name="acme", extra="for: {accounts: [ACME]}\n"),
    price_list("- {sku: A, price: 8.50}\n", name="gold-web-b",
               extra="for: {segments: [gold], channels: [web]}\n"),
    price_list("- {sku: A, price: 8.40}\n", name="gold-web-a",
               extra="for: {segments: [gold], channels: [web]}\n"),
]


@pytest.mark.parametrize(("customer", "channel", "expected"), [
    ({}, None, "base"),
    ({}, "web", "web"),
    ({"segment": "gold"}, "store", "gold"),
    ({"segment": "gold"}, "web", "gold-web-a"),
    ({"segment": "gold", "account": "ACME"}, "web", "acme"),
])
def test_the_most_specific_price_list_wins_deterministically(customer, channel, expected):
    p = price(bundle(*SELECTION), [{"sku": "A"}], customer=customer, channel=channel)
    assert p.lines[0].price_list == f"{expected}@1"


def test_priority_breaks_ties_between_equally_specific_lists():
    lists = [*SELECTION[:1], price_list("- {sku: A, price: 1.00}\n", name="zz-promo", extra="priority: 5\n")]
    assert price(bundle(*lists), [{"sku": "A"}]).lines[0].price_list == "zz-promo@1"


def test_a_specific_list_without_the_sku_falls_back_to_the_general_one():
    lists = [*SELECTION[:1], price_list("- {sku: B, price: 1.00}\n", name="gold", extra="for: {segments: [gold]}\n")]
    assert price(bundle(*lists), [{"sku": "A"}], customer={"segment": "gold"}).lines[0].price_list == "base@1"


def test_a_list_outside_its_effective_dates_is_not_used():
    lists = [*SELECTION[:1], price_list("- {sku: A, price: 1.00}\n", name="spring",
                                        extra="priority: 9\neffective_from: 2026-04-01\n")]
    assert price(bundle(*lists), [{"sku": "A"}], as_of=DAY).lines[0].price_list == "base@1"
    assert price(bundle(*lists), [{"sku": "A"}], as_of=dt.date(2026, 4, 1)).lines[0].price_list == "spring@1"


def test_entries_by_category_and_catch_all_follow_sku_entries():
    rules = bundle(price_list("""\
        - {sku: A, price: 5.00}
        - {category: tools, price: 3.00}
        - {price: 1.00, id: anything}
        """), "kind: product_catalog\nname: c\nversion: 1\nproducts:\n  - {sku: T, category: tools}\n")
    p = price(rules, [{"sku": "A"}, {"sku": "T"}, {"sku": "Z"}])
    assert [ln.entry for ln in p.lines] == ["sku:A", "category:tools", "anything"]


def test_a_sku_no_list_prices_raises_no_price_error_with_its_location():
    with pytest.raises(NoPriceError) as info:
        price(bundle(SELECTION[0]), [{"sku": "A"}, {"sku": "NOPE"}])
    assert info.value.loc == ("lines", 1, "sku")
    assert isinstance(info.value, LookupError)


def test_derived_lists_apply_formula_margin_floor_and_price_points():
    rules = bundle(
        price_list("- {sku: A, price: 100.00, cost: 80.00}\n- {sku: B, price: 19.99, cost: 5.00}\n",
                   name="base"),
        price_list("- {sku: C, price: 3.00}\n", name="outlet",
                   extra="based_on: base\nformula: \"base_price * 0.7\"\nmin_margin: 10\n"
                         "round_to_step: 0.05\nfor: {channels: [outlet]}\n"))
    p = price(rules, [{"sku": "A"}, {"sku": "B"}], channel="outlet")
    # A: 70.00 would sell below cost; the 10 % margin floor is 80 / 0.9 = 88.888… → 88.90
    assert [ln.list_amount for ln in p.lines] == [D("88.90"), D("14.00")]
    assert p.lines[0].price_list == "outlet@1"


def test_markup_on_cost_reads_cost_from_the_catalog():
    rules = bundle(
        price_list("- {sku: A, price: 1.00}\n", name="base"),
        price_list("", name="trade", extra="based_on: base\nformula: \"cost * 1.25\"\n"
                                           "for: {segments: [trade]}\n").replace("entries:\n", ""),
        "kind: product_catalog\nname: c\nversion: 1\nproducts:\n  - {sku: A, cost: {EUR: 40.00}}\n")
    assert price(rules, [{"sku": "A"}], customer={"segment": "trade"}).totals.net == D("50.00")


def test_units_of_measure_convert_the_quantity_to_the_price_unit():
    rules = bundle(price_list("- {sku: STEEL, price: 812.00, unit: t}\n"))
    assert price(rules, [{"sku": "STEEL", "quantity": 1250, "unit": "kg"}]).totals.net == D("1015.00")
    with pytest.raises(PricingEvaluationError, match="cannot convert"):
        price(rules, [{"sku": "STEEL", "quantity": 1, "unit": "m"}])


def test_conversion_with_a_given_rate_happens_before_rounding():
    rules = bundle(price_list("- {sku: A, price: 3.33}\n"))
    with pytest.raises(NoPriceError):
        price(rules, [{"sku": "A", "quantity": 3}], currency="USD")
    p = price(rules, [{"sku": "A", "quantity": 3}], currency="USD", exchange_rates={"EUR": "1.1"})
    assert p.totals.net == D("10.99")  # 3 × 3.663 = 10.989, rounded once, in USD


# --- roll-up -----------------------------------------------------------------------------

def test_configured_product_options_and_formula_options_roll_up_per_unit():
    rules = bundle(price_list("- {sku: KITCHEN, price: 5000.00}\n", extra="""\
        inputs: {line.options.length_cm: integer, line.options.finish: string}
        options:
          - {option: finish, value: oak, price: 400.00}
          - {option: length_cm, formula: "line.options.length_cm * 12.50 EUR"}
        """))
    p = price(rules, [{"sku": "KITCHEN", "quantity": 2, "options": {"finish": "oak", "length_cm": 240}}])
    assert p.totals.net == D("16800.00")  # 2 × (5000 + 400 + 3000)
    assert [s.stage.value for s in p.lines[0].waterfall] == ["price_list", "roll_up", "roll_up"]


# --- discounts and stacking -----------------------------------------------------------------

def promos(body: str, currency: str = "EUR") -> str:
    return f"kind: discount_rules\nname: promos\nversion: 1\ncurrency: {currency}\ndiscounts:\n" + body


BASE = price_list("- {sku: A, price: 100.00}\n- {sku: B, price: 10.00}\n- {sku: C, price: 4.00}\n")


def test_stages_apply_in_order_and_percentages_compound():
    rules = bundle(BASE, promos("""\
          - {id: second, type: percent, value: 10, stage: 20}
          - {id: first, type: percent, value: 10, stage: 10}
        """))
    line = price(rules, [{"sku": "A"}]).lines[0]
    assert [s.rule for s in line.waterfall] == ["sku:A", "first", "second"]
    assert line.net == D("81.00")


def test_an_exclusive_group_applies_only_its_best_rule():
    rules = bundle(BASE, promos("""\
          - {id: ten-pct, type: percent, value: 10, exclusive_group: g}
          - {id: fifteen-off, type: amount, value: 15.00, exclusive_group: g}
          - {id: five-off, type: amount, value: 5.00, exclusive_group: g}
        """))
    assert [s.rule for s in price(rules, [{"sku": "A"}]).lines[0].waterfall] == ["sku:A", "fifteen-off"]


def test_stop_after_blocks_later_rules_on_that_line():
    rules = bundle(BASE, promos("""\
          - {id: clearance, type: percent, value: 50, applies_to: {skus: [A]}, stop_after: true, stage: 1}
          - {id: everything, type: percent, value: 10, stage: 2}
        """))
    p = price(rules, [{"sku": "A"}, {"sku": "B"}])
    assert [ln.net for ln in p.lines] == [D("50.00"), D("9.00")]


def test_a_discount_never_drives_a_line_below_zero_and_caps_limit_it():
    rules = bundle(BASE, promos("""\
          - {id: huge, type: amount, value: 500.00, applies_to: {skus: [B]}}
          - {id: capped, type: percent, value: 90, cap: 20.00, applies_to: {skus: [A]}}
        """))
    p = price(rules, [{"sku": "A"}, {"sku": "B"}])
    assert [ln.net for ln in p.lines] == [D("80.00"), D("0.00")]


def test_fixed_price_sets_the_unit_price():
    rules = bundle(BASE, promos("- {id: deal, type: fixed_price, value: 79.00, applies_to: {skus: [A]}}\n"))
    assert price(rules, [{"sku": "A", "quantity": 2}]).totals.net == D("158.00")


def test_buy_two_get_one_half_price_discounts_the_cheapest_units():
    rules = bundle(BASE, promos("- {id: b2g1, type: buy_x_get_y, buy: 2, get: 1, get_percent: 50}\n"))
    p = price(rules, [{"sku": "A"}, {"sku": "B"}, {"sku": "C", "quantity": 2}])
    assert [ln.net for ln in p.lines] == [D("100.00"), D("10.00"), D("6.00")]


def test_cheapest_free_counts_units_across_lines_and_respects_max_applications():
    rules = bundle(BASE, promos("- {id: m, type: cheapest_free, every: 3, max_applications: 1}\n"))
    p = price(rules, [{"sku": "B", "quantity": 4}, {"sku": "C", "quantity": 3}])
    assert p.totals.discounts == D("4.00")


def test_bundle_price_discounts_complete_sets_only():
    rules = bundle(BASE, promos("""\
          - id: set
            type: bundle_price
            value: 105.00
            components: [{skus: [A]}, {skus: [B], quantity: 2}]
        """))
    one = price(rules, [{"sku": "A", "quantity": 2}, {"sku": "B", "quantity": 3}])
    assert one.totals.discounts == D("15.00")  # one set: 100 + 2 × 10 → 105
    assert sum(ln.discount_total for ln in one.lines) == D("15.00")


def test_order_level_discount_is_allocated_exactly_over_eligible_lines():
    rules = bundle(BASE, promos("""\
          - {id: order10, type: amount, level: order, value: 10.00, applies_to: {exclude_skus: [C]},
             condition: "order.list_amount >= 50.00"}
        """))
    p = price(rules, [{"sku": "A"}, {"sku": "B"}, {"sku": "C"}])
    assert [ln.discount_total for ln in p.lines] == [D("9.09"), D("0.91"), D("0.00")]
    assert p.promotions[0].amount == D("10.00")


def test_coupons_apply_only_when_given_and_under_their_usage_limits():
    rules = bundle(BASE, promos("""\
          - {id: c5, type: amount, level: order, value: 5.00, coupon: {code: SAVE5, usage_limit: 100}}
        """))
    assert price(rules, [{"sku": "A"}]).totals.discounts == 0
    assert price(rules, [{"sku": "A"}], coupons=["save5"]).totals.discounts == D("5.00")
    used_up = price(rules, [{"sku": "A"}], coupons=["SAVE5"], coupon_usage={"SAVE5": {"total": 100}})
    assert used_up.totals.discounts == 0
    assert used_up.warnings == ("coupon SAVE5 has reached its usage limit (100)",)
    assert price(rules, [{"sku": "A"}], coupons=["NOPE"]).warnings == ("coupon NOPE is not valid",)


def test_conditions_are_rule_language_and_indexed_by_the_skus_they_require():
    text = promos("""\
          - {id: a-gold, type: percent, value: 20,
             condition: "line.sku = 'A' and customer.segment = 'gold' and line.quantity >= 2"}
        """)
    rules = bundle(BASE, text)
    (index,) = [r.artefact for r in rules.rulesets if r.kind == "discount_rules"]
    assert set(index.by_sku) == {"A"} and not index.unfiled_line
    assert price(rules, [{"sku": "A", "quantity": 2}], customer={"segment": "gold"}).totals.net == D("160.00")
    assert price(rules, [{"sku": "A", "quantity": 1}], customer={"segment": "gold"}).totals.net == D("100.00")


def test_a_decision_table_gives_the_discount_value():
    rules = bundle(BASE, promos("""\
          - id: bands
            type: percent
            table:
              hit_policy: FIRST
              inputs: [line.quantity]
              outputs: [{name: percent, type: decimal}]
              rules: [[">= 10", "12"], [">= 5", "5"]]
        """))
    assert [price(rules, [{"sku": "B", "quantity": q}]).totals.net for q in (1, 5, 10)] == [
        D("10.00"), D("47.50"), D("88.00")]


# --- manual adjustments ------------------------------------------------------------------------

LIMITS = """\
kind: manual_adjustment_limits
name: limits
version: 1
roles:
  rep: {max_discount_percent: 10}
  manager: {max_discount_percent: 30, may_override: true}
"""


def test_manual_adjustments_within_the_limit_need_no_approval():
    adj = [{"type": "percent", "value": 10, "reason": "loyal customer", "role": "rep"}]
    p = price(bundle(BASE, LIMITS), [{"sku": "A", "manual_adjustments": adj}])
    assert p.totals.net == D("90.00") and not p.requires_approval


def test_a_percentage_at_the_limit_stays_within_it_whatever_the_cent_rounding():
    # 10 % of 7.56 is 0.756, rounded to 0.76: an effective 10.05 %, but the rep entered 10 %
    rules = bundle(price_list("- {sku: BAR, price: 1.08}\n"), LIMITS)
    adj = [{"type": "percent", "value": 10, "reason": "loyal customer", "role": "rep"}]
    p = price(rules, [{"sku": "BAR", "quantity": 7, "manual_adjustments": adj}])
    assert p.totals.net == D("6.80")
    assert not p.requires_approval
    over = [{"type": "percent", "value": "10.01", "reason": "a hair more", "role": "rep"}]
    assert price(rules, [{"sku": "BAR", "quantity": 7, "manual_adjustments": over}]).requires_approval


def test_manual_adjustments_beyond_the_limit_are_priced_and_flagged():
    adj = [{"type": "override", "value": 60, "reason": "competitor price", "role": "manager"}]
    p = price(bundle(BASE, LIMITS), [{"sku": "A", "manual_adjustments": adj}])
    assert p.totals.net == D("60.00")
    assert p.requires_approval and p.lines[0].requires_approval
    assert "exceeds the 30% limit of role 'manager'" in p.approval_reasons[0]


def test_order_level_manual_discount_is_allocated_and_checked():
    adj = [{"type": "amount", "value": 22, "reason": "goodwill", "role": "rep"}]
    p = price(bundle(BASE, LIMITS), [{"sku": "A"}, {"sku": "B"}], manual_adjustments=adj)
    assert p.totals.net == D("88.00") and p.requires_approval


def test_a_manual_adjustment_needs_a_reason():
    with pytest.raises(ValueError, match="reason"):
        price(bundle(BASE), [{"sku": "A", "manual_adjustments": [{"type": "amount", "value": 1,
                                                                    "reason": "", "role": "rep"}]}])


# --- rounding policies -----------------------------------------------------------------------------

def test_cash_rounding_step_on_a_chf_list():
    rules = bundle(price_list("- {sku: A, price: 1.23}\n", currency="CHF",
                              extra="rounding: {mode: half_up, scope: line, step: 0.05}\n"))
    assert price(rules, [{"sku": "A", "quantity": 3}], currency="CHF").totals.net == D("3.70")


def test_document_rounding_spreads_the_difference_so_lines_sum_to_the_rounded_total():
    rules = bundle(price_list("- {sku: A, price: 0.333}\n",
                              extra="rounding: {mode: half_up, scope: document}\n"))
    p = price(rules, [{"sku": "A"}] * 3)
    assert p.totals.net == D("1.00")
    assert sorted(ln.net for ln in p.lines) == [D("0.33"), D("0.33"), D("0.34")]


def test_document_level_tax_rounding_keeps_line_taxes_summing_to_the_document_tax():
    rules = bundle(price_list("- {sku: A, price: 0.03}\n"), vat("document"))
    p = price(rules, [{"sku": "A"}] * 7)
    assert p.totals.tax == D("0.04") == p.taxes[0].amount


# --- taxes -----------------------------------------------------------------------------------------

def test_tax_class_and_exemptions_select_the_taxes():
    rules = bundle(price_list("- {sku: A, price: 10.00}\n"), VAT,
                   "kind: product_catalog\nname: c\nversion: 1\nproducts:\n  - {sku: A, tax_class: reduced}\n")
    assert price(rules, [{"sku": "A"}]).totals.tax == D("0.70")
    assert price(rules, [{"sku": "A"}], customer={"tax_exemptions": ["de-7"]}).totals.tax == 0
    assert price(rules, [{"sku": "A"}], ship_to={"country": "FR"}).totals.tax == 0


def test_an_order_without_ship_to_is_priced_without_tax_and_says_so():
    p = price(bundle(BASE, VAT), [{"sku": "A"}], ship_to=None)
    assert p.totals.tax == 0 and p.warnings == ("no ship_to address: no tax was computed",)


# --- services ---------------------------------------------------------------------------------------

SERVICE = """\
kind: service_charges
name: svc
version: 1
services:
  - sku: PLAN
    align_to_calendar: true
    term_periods: 12
    charges:
      - {id: setup, kind: one_time, per: line, price: {EUR: 50.00}}
      - {id: seat, kind: recurring, period: month, price: {EUR: 31.00}}
      - {id: yearly, kind: recurring, period: year, price: {EUR: 100.00}}
"""


def test_a_partial_first_month_is_prorated_by_days_and_due_today():
    p = price(bundle(SERVICE.replace("    term_periods: 12\n", "")),
              [{"sku": "PLAN", "quantity": 2, "service": {"start_date": "2026-03-21"}}], as_of=dt.date(2026, 3, 21))
    seat = {c.id: c for c in p.lines[0].charges}["seat"]
    assert (seat.prorated_days, seat.period_days, seat.first_period_amount) == (11, 31, D("22.00"))
    # the year runs 2026-01-01 → 2027-01-01 (365 days), 286 of them from 21 March: 200 × 286/365
    assert p.totals.due_today == D("50.00") + D("22.00") + D("156.71")
    assert {r.period: r.net for r in p.totals.recurring} == {"month": D("62.00"), "year": D("200.00")}


def test_a_term_needs_a_single_recurring_period():
    from rule_language import RulesetLoadError

    with pytest.raises(RulesetLoadError, match="one recurring charge period"):
        bundle(SERVICE)


# --- interfaces ----------------------------------------------------------------------------------------

def test_a_float_in_the_order_raises_type_error():
    with pytest.raises(TypeError, match="float"):
        price(bundle(BASE), [{"sku": "A", "quantity": 1.5}])


def test_as_of_must_be_a_date_not_a_datetime():
    from pricing_engine import price_order

    with pytest.raises(TypeError):
        price_order({"id": "x", "currency": "EUR", "lines": [{"id": "1", "sku": "A"}]}, bundle(BASE),
                    dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def test_the_priced_order_round_trips_through_json():
    from pricing_engine import PricedOrder

    p = price(bundle(BASE, VAT, promos("- {id: p, type: percent, value: 7}\n")), [{"sku": "A"}, {"sku": "C"}])
    assert PricedOrder.model_validate_json(p.model_dump_json()) == p


# --- further paths ---------------------------------------------------------------------------------------

def test_a_fixed_per_unit_tax_in_another_currency_is_converted_and_compounds():
    taxes = """\
        kind: tax_rules
        name: t
        version: 1
        taxes:
          - {id: eco, country: DE, amount_per_unit: 0.50, currency: USD, compounds: true, sequence: 1}
          - {id: vat, country: DE, rate: 19, sequence: 2}
        """
    p = price(bundle(BASE, taxes), [{"sku": "B", "quantity": 2}], exchange_rates={"USD": "0.9"})
    by_id = {t.tax_id: t for t in p.lines[0].taxes}
    assert by_id["eco"].amount == D("0.90")
    assert (by_id["vat"].base, by_id["vat"].amount) == (D("20.90"), D("3.97"))


def test_a_list_derived_from_a_derived_list_applies_both_formulas():
    rules = bundle(
        price_list("- {sku: A, price: 100.00}\n", name="base"),
        price_list("", name="mid", extra="based_on: base\nformula: \"base_price * 0.9\"\n"
                                         "for: {channels: [web]}\n").replace("entries:\n", ""),
        price_list("", name="top", extra="based_on: mid\nformula: \"base_price - 5.00 EUR\"\n"
                                         "for: {segments: [vip], channels: [web]}\n").replace("entries:\n", ""))
    p = price(rules, [{"sku": "A"}], channel="web", customer={"segment": "vip"})
    assert (p.lines[0].price_list, p.totals.net) == ("top@1", D("85.00"))
    assert "mid@1 derived" in p.lines[0].waterfall[0].description


def test_discounts_on_tax_included_prices_reduce_the_gross_and_tax_follows():
    rules = bundle(price_list("- {sku: A, price: 119.00}\n", extra="prices_include_tax: true\n"), VAT,
                   promos("- {id: p, type: percent, value: 10}\n"))
    line = price(rules, [{"sku": "A"}]).lines[0]
    assert (line.gross, line.tax_total, line.net) == (D("107.10"), D("17.10"), D("90.00"))


def test_document_tax_rounding_with_included_prices_keeps_every_gross():
    rules = bundle(price_list("- {sku: A, price: 0.99}\n", extra="prices_include_tax: true\n"), vat("document"))
    p = price(rules, [{"sku": "A"}] * 5)
    assert all(ln.gross == D("0.99") for ln in p.lines)
    assert p.totals.tax == D("0.79")  # 5 × 0.99 × 19/119 = 0.7903…
    assert sum(ln.net for ln in p.lines) + p.totals.tax == D("4.95")


def test_a_service_priced_in_another_currency_uses_the_given_rate():
    svc = """\
        kind: service_charges
        name: s
        version: 1
        services:
          - sku: PLAN
            charges: [{id: fee, kind: recurring, period: month, every: 3, price: {USD: 30.00}}]
        """
    p = price(bundle(svc), [{"sku": "PLAN"}], exchange_rates={"USD": "0.92"})
    assert p.totals.due_today == D("27.60")
    assert {r.period: r.net for r in p.totals.recurring} == {"3 months": D("27.60")}


def test_prebuilt_pricing_rules_give_the_same_result_as_the_bundle():
    from pricing_engine import PricingRules

    rules = bundle(BASE, VAT, promos("- {id: p, type: percent, value: 7}\n"))
    lines = [{"sku": "A"}, {"sku": "B", "quantity": 3}]
    assert price(PricingRules.from_bundle(rules, DAY), lines) == price(rules, lines)


def test_best_of_compares_order_rules_after_their_caps():
    rules = bundle(BASE, promos("""\
          - {id: big-capped, type: percent, level: order, value: 50, cap: 8.00, exclusive_group: g}
          - {id: small, type: amount, level: order, value: 10.00, exclusive_group: g}
        """))
    assert [p.rule for p in price(rules, [{"sku": "A"}]).promotions] == ["small"]


def test_every_unpriced_line_is_reported_at_once():
    with pytest.raises(NoPriceError) as info:
        price(bundle(BASE), [{"sku": "X1"}, {"sku": "A"}, {"sku": "X2"}])
    assert [loc for loc, _ in info.value.problems] == [("lines", 0, "sku"), ("lines", 2, "sku")]
    assert "lines.0.sku" in str(info.value) and "lines.2.sku" in str(info.value)


@pytest.mark.parametrize(("condition", "filed", "applies"), [
    ("line.sku = 'A' and line.quantity >= 1", {"A"}, {"A": True, "B": False}),
    ("line.sku in ['A', 'B']", {"A", "B"}, {"A": True, "B": True}),
    ("line.sku != 'A'", None, {"A": False, "B": True}),
    ("line.sku = 'A' or line.quantity > 5", None, {"A": True, "B": False}),
    ("not (line.sku = 'B')", None, {"A": True, "B": False}),
])
def test_rules_are_filed_only_under_skus_their_condition_requires(condition, filed, applies):
    rules = bundle(BASE, promos(f'- {{id: r, type: percent, value: 10, condition: "{condition}"}}\n'))
    (index,) = [r.artefact for r in rules.rulesets if r.kind == "discount_rules"]
    assert (set(index.by_sku) or None) == filed
    p = price(rules, [{"sku": "A"}, {"sku": "B"}])
    assert {ln.sku: ln.discount_total > 0 for ln in p.lines} == applies


def test_a_plain_sequence_of_loaded_rulesets_is_accepted():
    rules = bundle(BASE, VAT)
    lines = [{"sku": "A"}]
    assert price(list(rules.rulesets), lines) == price(rules, lines)
