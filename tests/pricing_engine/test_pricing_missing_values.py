"""A rule that reads a value the order does not give fails naming that field, never `NoneType`."""

from __future__ import annotations

import pytest

from pricing_engine import PricingEvaluationError
from tests.pricing_engine.helpers import VAT, bundle, price, price_list

LIST = price_list("- {sku: A, price: 10.00}\n")


def promos(body: str, head: str = "") -> str:
    return "kind: discount_rules\nname: p\nversion: 1\ncurrency: EUR\n" + head + "discounts:\n" + body


def failure(rules, lines, **order) -> PricingEvaluationError:
    with pytest.raises(PricingEvaluationError) as info:
        price(rules, lines, **order)
    assert "NoneType" not in str(info.value)
    return info.value


@pytest.mark.parametrize(("order", "loc"), [
    ({"ship_to": None}, ("ship_to", "postal_code")),
    ({"ship_to": {"country": "DE"}}, ("ship_to", "postal_code")),
])
def test_a_discount_reading_an_absent_postal_code_names_the_field(order, loc):
    rules = bundle(LIST, promos(
        "  - {id: zip9, type: percent, value: 5, condition: \"starts_with(ship_to.postal_code, '9')\"}\n"))
    err = failure(rules, [{"sku": "A"}], **order)
    assert err.loc == loc
    assert "discount zip9 reads `ship_to.postal_code`" in err.message
    assert "is_set(ship_to.postal_code)" in err.message


def test_the_guarded_rule_prices_the_order_without_the_field():
    rules = bundle(LIST, promos("  - {id: zip9, type: percent, value: 5, condition: "
                                "\"is_set(ship_to.postal_code) and starts_with(ship_to.postal_code, '9')\"}\n"))
    assert str(price(rules, [{"sku": "A"}]).totals.net) == "10.00"
    assert str(price(rules, [{"sku": "A"}], ship_to={"country": "DE", "postal_code": "90402"}).totals.net) == "9.50"


def test_an_order_rule_reading_an_absent_channel_points_at_the_channel():
    rules = bundle(LIST, promos(
        "  - {id: web, type: percent, level: order, value: 5, condition: \"starts_with(order.channel, 'w')\"}\n"))
    err = failure(rules, [{"sku": "A"}])
    assert err.loc == ("channel",)


def test_a_line_rule_reading_an_absent_category_points_at_the_line():
    rules = bundle(LIST, promos(
        "  - {id: c, type: percent, value: 5, condition: \"starts_with(line.category, 'bi')\"}\n"))
    err = failure(rules, [{"sku": "A"}, {"sku": "A", "category": "bikes"}])
    assert err.loc == ("lines", 0, "category")


def test_a_tax_condition_reading_an_absent_region_names_the_field():
    vat = VAT.replace("tax_classes: [standard]}",
                      "tax_classes: [standard], condition: \"starts_with(ship_to.region, 'B')\"}")
    err = failure(bundle(LIST, vat), [{"sku": "A"}])
    assert err.loc == ("ship_to", "region")
    assert err.message.startswith("tax de-19 reads `ship_to.region`")


def test_a_price_entry_condition_on_an_undeclared_attribute_is_a_located_pricing_error():
    rules = bundle(price_list("- {sku: A, price: 10, condition: \"customer.attributes.tier > 2\"}\n"
                              "- {sku: A, price: 12}\n",
                              extra="inputs: {customer.attributes.tier: integer}\n"))
    err = failure(rules, [{"sku": "A"}])  # was a bare rule_language MissingValueError naming `tier`
    assert err.loc == ("customer", "attributes", "tier")
    assert "entry" in err.message and "`customer.attributes.tier`" in err.message
    given = price(rules, [{"sku": "A"}], customer={"id": "c", "attributes": {"tier": 3}})
    assert str(given.totals.net) == "10.00"


def test_an_option_formula_reading_an_option_the_line_lacks_points_at_that_option():
    rules = bundle(price_list("- {sku: A, price: 10}\n", extra=(
        "inputs: {line.options.length: decimal}\n"
        "options:\n  - {option: color, formula: \"line.unit_price * line.options.length\"}\n")))
    err = failure(rules, [{"sku": "A", "options": {"color": "red"}}])
    assert err.loc == ("lines", 0, "options", "length")
