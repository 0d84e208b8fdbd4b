"""The pipeline contract (one test over every registered stage) and the engine's properties."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pricing_engine import (
    DEFAULT_PIPELINE,
    RULESET_KINDS,
    STAGES,
    Order,
    PricedOrder,
    PricingRules,
    PricingStage,
    Stage,
    price_order,
)
from pricing_engine.pipeline import check_pipeline, new_state
from pricing_engine.rounding import currency_exponent
from rule_language import load_ruleset_dir
from tests.conftest import REPO_ROOT
from tests.pricing_engine.helpers import bundle
from tests.strategies import currencies

EXAMPLES = sorted((REPO_ROOT / "examples" / "orders").glob("*.json"))


@pytest.fixture(scope="module")
def sample():
    return load_ruleset_dir(REPO_ROOT / "rulesets" / "pricing", RULESET_KINDS)


def read(path: Path) -> tuple[Order, dt.date]:
    data = json.loads(path.read_text(), parse_float=Decimal)
    as_of = dt.date.fromisoformat(data.pop("as_of"))
    return Order.model_validate(data), as_of


# --- the stage contract -------------------------------------------------------------------

SYNTHETIC = (
    "kind: price_list\nname: doc\nversion: 1\ncurrency: CHF\n"
    "rounding: {mode: half_even, scope: document, step: 0.05}\n"
    "entries:\n  - {sku: A, price: 0.333}\n  - {sku: B, price: 12.345, min_quantity: 2}\n"
    "  - {sku: B, price: 13.00}\n",
    "kind: discount_rules\nname: d\nversion: 1\ncurrency: CHF\ndiscounts:\n"
    "  - {id: p, type: percent, value: 12.5}\n  - {id: o, type: amount, level: order, value: 1.00}\n",
    "kind: tax_rules\nname: t\nversion: 1\npolicy: {scope: document}\n"
    "taxes: [{id: ch-vat, country: CH, rate: 8.1}]\n",
    "kind: manual_adjustment_limits\nname: m\nversion: 1\nroles: {clerk: {max_discount_percent: 5}}\n",
)


def synthetic_orders() -> list[tuple[Order, dt.date]]:
    adj = [{"type": "percent", "value": 7, "reason": "damaged box", "role": "clerk"}]
    orders = [
        {"lines": [{"id": "1", "sku": "A", "quantity": 7}, {"id": "2", "sku": "B", "quantity": 3}]},
        {"lines": [{"id": "1", "sku": "B", "manual_adjustments": adj}, {"id": "2", "sku": "A"}],
         "manual_adjustments": [{"type": "amount", "value": "0.55", "reason": "goodwill", "role": "clerk"}]},
    ]
    return [(Order.model_validate({"id": f"S{i}", "currency": "CHF", "ship_to": {"country": "CH"}, **o}),
             dt.date(2026, 1, 5)) for i, o in enumerate(orders)]


@pytest.mark.parametrize("name", sorted(STAGES))
def test_every_registered_stage_keeps_the_pipeline_invariants(name, sample):
    stage = STAGES[name]
    assert isinstance(stage, PricingStage) and stage.name == name
    assert stage in DEFAULT_PIPELINE
    cases = [(sample, *read(path), path.name) for path in EXAMPLES]
    cases += [(bundle(*SYNTHETIC), order, as_of, order.id) for order, as_of in synthetic_orders()]
    for rules_bundle, order, as_of, label in cases:
        runs = []
        for _ in range(2):  # the same input twice: the same steps
            state = new_state(order, PricingRules.from_bundle(rules_bundle, as_of), as_of)
            for s in DEFAULT_PIPELINE:
                before = [(len(wl.steps), wl.amount) for wl in state.lines]
                s.run(state)
                if s is stage:
                    break
            for wl, (n, amount) in zip(state.lines, before, strict=True):
                running = amount
                for step in wl.steps[n:]:
                    assert step.before == running, f"{name} broke the waterfall chain in {label}"
                    assert step.rounded == step.after - step.before
                    assert step.after >= 0, f"{name} drove line {wl.line.id} below zero"
                    running = step.after
                assert running == wl.amount, f"{name} changed an amount without a step"
            runs.append([[s.model_dump() for s in wl.steps] for wl in state.lines])
        assert runs[0] == runs[1], f"{name} is not deterministic"
        assert order == Order.model_validate(order.model_dump()), f"{name} mutated the order"


def test_a_stage_can_be_replaced_by_name():
    class FlatTax:
        name = "tax"

        def run(self, state):
            from pricing_engine.tax import TaxPolicy, TaxRate, tax_line

            for wl in state.lines:
                wl.tax = tax_line(wl.amount, wl.quantity, [TaxRate("flat", "Flat 10%", rate=Decimal(10))],
                                  TaxPolicy(), state.currency)

    rules = bundle("kind: price_list\nname: l\nversion: 1\ncurrency: EUR\nentries:\n  - {sku: A, price: 5.00}\n")
    pipeline = tuple(FlatTax() if s.name == "tax" else s for s in DEFAULT_PIPELINE)
    order = {"id": "o", "currency": "EUR", "lines": [{"id": "1", "sku": "A"}]}
    p = price_order(order, rules, dt.date(2026, 1, 1), pipeline=pipeline)
    assert p.totals.tax == Decimal("0.50") and p.taxes[0].tax_id == "flat"


def test_a_pipeline_with_a_duplicate_or_a_non_stage_is_refused():
    with pytest.raises(ValueError, match="twice"):
        check_pipeline([*DEFAULT_PIPELINE, STAGES["tax"]])
    with pytest.raises(TypeError, match="not a PricingStage"):
        check_pipeline([object()])  # type: ignore[list-item]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_order_prices_and_explains_itself(path, sample):
    order, as_of = read(path)
    p = price_order(order, sample, as_of)
    assert p.lines and all(ln.waterfall for ln in p.lines)
    assert p.totals.gross == sum(ln.gross for ln in p.lines)
    assert PricedOrder.model_validate_json(p.model_dump_json()) == p


# --- properties over generated price lists, promotions and taxes ------------------------------

@st.composite
def priced_setups(draw):
    currency = draw(currencies())
    exp = currency_exponent(currency)
    n_skus = draw(st.integers(1, 5))
    # unit prices may carry more digits than the currency (0.0125 per screw)
    prices = [Decimal(draw(st.integers(0, 10**7))).scaleb(-(exp + draw(st.integers(0, 2))))
              for _ in range(n_skus)]
    scope = draw(st.sampled_from(["unit", "line", "document"]))
    mode = draw(st.sampled_from(["half_up", "half_even", "down", "up"]))
    included = draw(st.booleans())
    entries = "".join(f"  - {{sku: S{i}, price: {p}}}\n" for i, p in enumerate(prices))
    if draw(st.booleans()):
        entries += ("  - sku: T\n    tier_mode: graduated\n    tiers:\n"
                    f"      - {{from: 1, to: 9, unit_price: {prices[0]}}}\n"
                    f"      - {{from: 10, unit_price: {prices[-1]}}}\n")
    price_list = (f"kind: price_list\nname: l\nversion: 1\ncurrency: {currency}\n"
                  f"prices_include_tax: {str(included).lower()}\n"
                  f"rounding: {{mode: {mode}, scope: {scope}}}\nentries:\n{entries}")
    pct = lambda: Decimal(draw(st.integers(0, 10000))).scaleb(-2)  # noqa: E731
    amt = lambda: Decimal(draw(st.integers(0, 10**6))).scaleb(-exp)  # noqa: E731
    promos = (f"kind: discount_rules\nname: p\nversion: 1\ncurrency: {currency}\ndiscounts:\n"
              f"  - {{id: line-pct, type: percent, value: {pct()}, stage: 1}}\n"
              f"  - {{id: line-amt, type: amount, per: unit, value: {amt()}, stage: 2, "
              f"applies_to: {{skus: [S0, T]}}}}\n"
              f"  - {{id: order-pct, type: percent, level: order, value: {pct()}, stage: 3}}\n"
              f"  - {{id: order-amt, type: amount, level: order, value: {amt()}, stage: 4}}\n"
              f"  - {{id: multibuy, type: cheapest_free, every: 3, stage: 2}}\n")
    tax_scope = draw(st.sampled_from(["unit", "line", "document"]))
    taxes = (f"kind: tax_rules\nname: t\nversion: 1\npolicy: {{mode: {mode}, scope: {tax_scope}}}\n"
             f"taxes:\n  - {{id: a, country: DE, rate: {pct() / 4}, compounds: true}}\n"
             f"  - {{id: b, country: DE, rate: {pct() / 10}}}\n")
    skus = [f"S{i}" for i in range(n_skus)] + (["T"] if "sku: T" in entries else [])
    lines = draw(st.lists(st.tuples(st.sampled_from(skus), st.integers(1, 25)), min_size=1, max_size=8))
    order = {"id": "P", "currency": currency, "ship_to": {"country": "DE"},
             "lines": [{"id": str(i), "sku": s, "quantity": q} for i, (s, q) in enumerate(lines)]}
    return bundle(price_list, promos, taxes), order


@settings(max_examples=40)
@given(priced_setups())
def test_priced_orders_are_exact_consistent_and_deterministic(setup):
    rules, order = setup
    p = price_order(order, rules, dt.date(2026, 1, 1))
    exp = currency_exponent(p.currency)

    def exact(d: Decimal) -> bool:
        return d.as_tuple().exponent == -exp

    t = p.totals
    # totals equal the sum of the lines, to the smallest unit
    for field in ("list_amount", "discounts", "net", "tax", "gross"):
        line_field = {"discounts": "discount_total", "tax": "tax_total"}.get(field, field)
        assert getattr(t, field) == sum(getattr(ln, line_field) for ln in p.lines)
        assert exact(getattr(t, field)), f"{field} = {getattr(t, field)}"
    assert sum(tx.amount for tx in p.taxes) == t.tax
    for ln in p.lines:
        assert all(exact(v) for v in (ln.list_amount, ln.net, ln.tax_total, ln.gross, ln.discount_total))
        assert all(exact(tx.amount) for tx in ln.taxes)
        assert ln.net + ln.tax_total == ln.gross
        # a discount never exceeds the amount it applies to
        assert 0 <= ln.discount_total <= ln.list_amount
        for step in ln.waterfall:
            if step.stage in (Stage.DISCOUNT, Stage.ORDER_DISCOUNT):
                assert step.rounded <= 0 and -step.rounded <= step.before and step.after >= 0
    for promo in p.promotions:
        assert promo.amount >= 0
    # the same input gives the same output
    assert price_order(order, rules, dt.date(2026, 1, 1)) == p
