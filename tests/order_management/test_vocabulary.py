"""One order vocabulary: order, pricing and event rules read the same names, with the same types."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import pricing_engine as pe
from order_management import ORDER_RULES_KIND, Channel, Customer, LineKind, LineStatus, Order, OrderStatus
from order_management.context import LINE_SCHEMA, ORDER_SCHEMA, Totals, line_env, order_env
from order_management.fulfilment import FULFILMENT_KINDS
from order_management.fulfilment.event_rules import FACT_SCHEMAS, FactType, field_name
from order_management.fulfilment.facts import line_fact, order_fact
from order_management.fulfilment.jeopardy import LineProjection
from order_management.ports import OrderRecord, PricingOutcome
from pricing_engine.env import pricing_schema
from pricing_engine.pipeline import PricingRules, new_state
from rule_language import (
    VOCABULARY,
    RuleKind,
    RulesetLoadError,
    Schema,
    load_rulesets,
    schema_for,
    vocabulary_table,
)
from rule_language.vocabulary import CHANNELS, LINE_KINDS, LINE_STATUSES, ORDER_STATUSES

DOC = Path(__file__).resolve().parents[2] / "docs" / "rule-language.md"
AS_OF = dt.date(2025, 7, 15)

#: The schemas each rule kind really compiles against, at order level and per line
#: (every pricing rule is evaluated for one line).
KIND_SCHEMAS: dict[RuleKind, tuple[Schema | None, Schema]] = {
    RuleKind.ORDER: (ORDER_SCHEMA, LINE_SCHEMA),
    RuleKind.PRICING: (None, pricing_schema()),
    RuleKind.EVENT: (FACT_SCHEMAS[FactType.ORDER], FACT_SCHEMAS[FactType.LINE]),
}


@pytest.mark.parametrize("term", VOCABULARY, ids=lambda t: t.name)
def test_a_name_has_the_same_type_in_every_rule_kind_that_reads_it(term) -> None:
    for kind in term.kinds:
        order_level, per_line = KIND_SCHEMAS[kind]
        assert per_line.resolve(term.name) == term.type, (kind, term.name)
        if order_level is not None and not term.per_line:
            assert order_level.resolve(term.name) == term.type, (kind, term.name)


@pytest.mark.parametrize("kind", list(RuleKind))
def test_each_rule_kind_reads_exactly_its_vocabulary_names(kind) -> None:
    order_level, per_line = KIND_SCHEMAS[kind]
    expected = {t.name for t in VOCABULARY if kind in t.kinds}
    assert set(per_line.paths()) == expected
    if order_level is not None:
        assert set(order_level.paths()) == {n for n in expected if not n.startswith("line.")}


def test_the_vocabulary_enumerations_are_the_order_models() -> None:
    assert tuple(Channel) == CHANNELS
    assert tuple(OrderStatus) == ORDER_STATUSES
    assert tuple(LineKind) == LINE_KINDS
    assert tuple(LineStatus) == LINE_STATUSES


# -- what each kind is evaluated on carries every name it declares ----------------------
CUSTOMER = Customer.model_validate({
    "id": "C-1", "name": "Vélo Lyon", "segment": "gold", "account": "ACME", "credit_limit": "5000.00",
    "bill_to": {"name": "Vélo Lyon SARL", "address": {"country": "FR", "city": "Lyon"}},
    "ship_to": {"name": "Vélo Lyon shop", "address": {"country": "FR", "city": "Lyon"}}})
ORDER = Order.model_validate({
    "order_id": "SO-1", "customer_id": "C-1", "currency": "EUR", "channel": "web",
    "requested_date": "2025-07-20",
    "ship_to": {"name": "Vélo Lyon shop", "address": {"country": "FR", "city": "Lyon"}},
    "bill_to": {"name": "Vélo Lyon SARL", "address": {"country": "FR", "city": "Lyon"}},
    "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "2"}]})
PRICED = PricingOutcome(Decimal("100.00"), Decimal("20.00"), Decimal("120.00"), {"1": Decimal("100.00")})


def _has(env: dict[str, Any], path: str) -> bool:
    node: Any = env
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def test_order_rules_are_evaluated_on_every_name_they_declare() -> None:
    totals = Totals(PRICED.subtotal, PRICED.tax, PRICED.total, PRICED.line_net)
    env = line_env(order_env(ORDER, CUSTOMER, AS_OF, totals), ORDER.lines[0], totals)
    assert [p for p in LINE_SCHEMA.paths() if not _has(env, p)] == []
    assert env["order"]["id"] == "SO-1" and env["line"]["id"] == "1" and env["ship_to"]["country"] == "FR"


def test_pricing_rules_are_evaluated_on_every_name_they_declare() -> None:
    bundle = load_rulesets([], pe.RULESET_KINDS)
    order = pe.Order.model_validate({"id": "SO-1", "currency": "EUR", "channel": "web",
                                     "ship_to": {"country": "FR"}, "lines": [{"id": "1", "sku": "A"}]})
    state = new_state(order, PricingRules.from_bundle(bundle, AS_OF), AS_OF)
    env = state.lines[0].env
    assert [p for p in pricing_schema().paths() if not _has(env, p)] == []


def test_event_facts_carry_every_name_event_rules_declare() -> None:
    record = OrderRecord(ORDER, (), PRICED)
    projection = LineProjection("1", "pick", AS_OF, AS_OF - dt.timedelta(days=2))
    facts = {FactType.ORDER: order_fact(record, CUSTOMER, AS_OF),
             FactType.LINE: line_fact(record, CUSTOMER, AS_OF, projection)}
    for fact_type, fact in facts.items():
        missing = [p for p in FACT_SCHEMAS[fact_type].paths() if field_name(p) not in fact]
        assert missing == [], fact_type
    assert facts[FactType.LINE]["line__id"] == "1" and facts[FactType.ORDER]["order__id"] == "SO-1"


# -- wrong names are refused at load time, located, with the reason ----------------------
def _problems(text: str, kinds) -> list[str]:
    with pytest.raises(RulesetLoadError) as caught:
        load_rulesets([("rules.yaml", text)], kinds)
    return caught.value.render().splitlines()


ORDER_RULES = """kind: order_rules
name: r
version: 1
validations:
  - id: v
    message: m
    require: {require}
"""
EVENT_RULES = """kind: event_rules
name: e
version: 1
currency: EUR
jeopardy:
  - {{id: j, when: "{when}", priority: high}}
"""
DISCOUNTS = """kind: discount_rules
name: d
version: 1
currency: EUR
discounts:
  - {{id: p, type: percent, value: 5, condition: "{when}"}}
"""


def test_an_order_rule_with_a_former_name_gets_a_did_you_mean_to_the_vocabulary_name() -> None:
    lines = _problems(ORDER_RULES.format(require="order.order_id != 'X'"), [ORDER_RULES_KIND])
    assert any(re.match(r"rules\.yaml:7:14: .*unknown symbol `order\.order_id`", line) for line in lines), lines
    assert "    hint: did you mean `order.id`? (the order vocabulary's name)" in lines


def test_an_event_rule_with_a_former_line_name_gets_a_did_you_mean() -> None:
    lines = _problems(EVENT_RULES.format(when="line.line_id = '1'"), FULFILMENT_KINDS)
    assert any("rules.yaml:6:" in line and "unknown symbol `line.line_id`" in line for line in lines), lines
    assert any("did you mean `line.id`?" in line for line in lines)


def test_an_event_only_name_in_an_order_rule_says_where_it_is_available() -> None:
    lines = _problems(ORDER_RULES.format(require="line.days_late < 3"), [ORDER_RULES_KIND])
    assert any(re.match(r"rules\.yaml:7:14: .*`line\.days_late` is only available in event rules", line)
               for line in lines), lines


def test_a_pricing_rule_reads_the_list_amount_where_order_rules_read_the_subtotal() -> None:
    lines = _problems(DISCOUNTS.format(when="order.subtotal > 10"), pe.RULESET_KINDS)
    assert any("`order.subtotal` is only available in order and event rules" in line for line in lines), lines
    assert any("in pricing rules, read `order.list_amount`" in line for line in lines), lines
    load_rulesets([("rules.yaml", DISCOUNTS.format(when="order.list_amount > 10"))], pe.RULESET_KINDS)


def test_a_priced_total_in_a_pricing_rule_says_where_it_is_available() -> None:
    lines = _problems(DISCOUNTS.format(when="order.total > 10"), pe.RULESET_KINDS)
    assert any("rules.yaml:6:" in line and "`order.total` is only available in order and event rules" in line
               for line in lines), lines


def test_a_line_name_in_an_order_level_rule_asks_for_a_per_line_rule() -> None:
    lines = _problems(ORDER_RULES.format(require="line.quantity < 3"), [ORDER_RULES_KIND])
    assert any("`line.quantity` is only available in per-line rules" in line for line in lines), lines
    assert "    hint: add `for_each: line` to the rule, or read `order.lines`" in lines


def test_a_typo_still_gets_the_schema_suggestion() -> None:
    lines = _problems(ORDER_RULES.format(require="order.totl > 3"), [ORDER_RULES_KIND])
    assert any("unknown symbol `order.totl`" in line for line in lines)
    assert any("did you mean `order.total`" in line for line in lines)


def test_names_outside_the_order_stay_local_to_their_kind() -> None:
    with pytest.raises(ValueError, match="order vocabulary"):
        schema_for(RuleKind.PRICING, extra={"order.total": "money"})
    assert "cost" in schema_for(RuleKind.PRICING, extra={"cost": "money"})


# -- the documentation is the declaration ---------------------------------------------
def test_the_documented_vocabulary_table_is_the_declared_one() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## The order vocabulary"):]
    start = section.index("<!-- generated by rule_language.vocabulary_table()")
    end = section.index("<!-- end of generated table -->")
    table = section[start:end].split("\n", 1)[1].strip()
    assert table == vocabulary_table(), "regenerate the table with rule_language.vocabulary_table()"
