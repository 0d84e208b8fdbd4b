"""The durable-rules adapter: past the engine's 1,024-state limit, and never silent about action errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from order_management.fulfilment import (
    FULFILMENT_KINDS,
    DurableRulesAdapter,
    Entity,
    EventType,
    FulfilmentEvent,
    FulfilmentService,
    RuleActionError,
    event_rules_from,
)
from order_management.fulfilment.event_rules import FactType, encode_fact
from rule_language import load_rulesets

RULES = """
kind: event_rules
name: adapter-test
version: 1
currency: EUR
jeopardy:
  - {id: late, when: "line.days_late >= 1", priority: high}
holds:
  - {id: notify, when: "customer.segment = 'gold'", reason: Tell the account manager, action: notify_crm}
"""


def adapter(actions=None) -> DurableRulesAdapter:
    bundle = load_rulesets([("adapter-test.yaml", RULES)], FULFILMENT_KINDS)
    return DurableRulesAdapter(event_rules_from(bundle), actions or {"notify_crm": lambda fact: None})


def line_fact(days_late: int) -> dict:
    return encode_fact(FactType.LINE, {"line.line_id": "1", "line.days_late": days_late}, "EUR")


def test_two_thousand_orders_pass_through_one_short_lived_state_each() -> None:
    engine = adapter()
    batches = [(f"SO-{n:05d}", [line_fact(n % 3), line_fact(0)]) for n in range(2000)]
    results = engine.evaluate_many(batches)
    assert len(results) == 2000 and engine.live_states == 0
    late = [r.order_id for r in results if r.firings]
    assert len(late) == 1333 and all(int(o[3:]) % 3 for o in late)
    assert all(len(r.firings) == 1 and r.firings[0].rule.id == "late" for r in results if r.firings)
    assert engine.evaluate("SO-again", [line_fact(2)]).firings  # the engine is still healthy afterwards


def test_money_is_compared_in_minor_units_of_the_rules_currency() -> None:
    text = RULES.replace("line.days_late >= 1", "order.total >= 100.00")
    engine = DurableRulesAdapter(event_rules_from(load_rulesets([("t.yaml", text)], FULFILMENT_KINDS)),
                                 {"notify_crm": lambda fact: None})
    fact = lambda total, currency: encode_fact(FactType.LINE, {"order.total": total}, currency)  # noqa: E731
    assert engine.evaluate("a", [fact(Decimal("100.00"), "EUR")]).firings
    assert not engine.evaluate("b", [fact(Decimal("99.99"), "EUR")]).firings
    assert not engine.evaluate("c", [fact(Decimal("100.00"), "USD")]).firings  # another currency never matches


def test_an_exception_in_a_rule_action_is_returned_not_swallowed() -> None:
    def broken(fact):
        raise ConnectionError("CRM is down")

    engine = adapter({"notify_crm": broken})
    fact = encode_fact(FactType.ORDER, {"customer.segment": "gold"}, "EUR")
    evaluation = engine.evaluate("SO-1", [fact])
    assert evaluation.errors == (("adapter-test@1/hold/notify", "ConnectionError: CRM is down"),)
    with pytest.raises(RuleActionError, match="CRM is down") as caught:
        evaluation.raise_for_errors()
    assert caught.value.order_id == "SO-1" and caught.value.rule.endswith("/notify")
    assert engine.live_states == 0


def test_a_rule_naming_an_unknown_host_action_is_refused_up_front() -> None:
    bundle = load_rulesets([("adapter-test.yaml", RULES)], FULFILMENT_KINDS)
    with pytest.raises(Exception, match="notify_crm"):
        DurableRulesAdapter(event_rules_from(bundle), {})


def test_a_failing_action_surfaces_as_an_error_on_the_order(fulfilment, records, fulfilment_bundle) -> None:
    def broken(fact):
        raise ConnectionError("CRM is down")

    rules = event_rules_from(load_rulesets([("t.yaml", RULES)], FULFILMENT_KINDS))
    failing = replace(fulfilment, rules=DurableRulesAdapter(rules, {"notify_crm": broken}))
    order_id = failing.capture({"customer_id": "C-100", "currency": "EUR",
                                "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"}]},
                               actor="desk").order.order_id
    with pytest.raises(RuleActionError, match="CRM is down"):
        failing.start(order_id, actor="desk:anna")
    instance = failing.instance(order_id)
    assert len(instance.errors) == 1 and "notify" in instance.errors[0]
    event = [e for e in records.audit.for_order(order_id) if e.action == "event rule failed"]
    assert event and event[0].actor == "desk:anna" and "CRM is down" in event[0].after


def test_a_jeopardy_scan_of_2000_open_orders_runs_through_the_adapter(fulfilment: FulfilmentService, service,
                                                                     records) -> None:
    order_id = fulfilment.capture({"customer_id": "C-100", "currency": "EUR",
                                   "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"}]},
                                  actor="web").order.order_id
    fulfilment.start(order_id, actor="web")
    late = service.clock.now() + dt.timedelta(days=5)
    fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "1", "schedule"))
    fulfilment.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "1", "pick"))
    template = records.processes.find(order_id)
    with service.unit_of_work() as uow:
        record = uow.orders.get(order_id)
        for n in range(1, 2000):
            clone = f"{order_id}-{n:04d}"
            uow.orders.add(replace(record, order=record.order.model_copy(update={"order_id": clone})))
            track = template.tracks[0]
            if n % 2:  # every other order's carrier is late
                steps = tuple(replace(s, expected_at=late) if s.step_id == "ship" else s for s in track.steps)
                track = replace(track, steps=steps)
            records.processes.put(replace(template, order_id=clone, tracks=(track,)), None)
        uow.commit()
    report = fulfilment.scan_jeopardy()
    assert report.orders == 2000 and report.errors == ()
    assert len(report.raised) == 1000 and {a.priority.value for a in report.raised} == {"high"}
    assert fulfilment.rules.live_states == 0
    assert len([e for e in records.audit.all() if e.entity == Entity.JEOPARDY]) == 1000
