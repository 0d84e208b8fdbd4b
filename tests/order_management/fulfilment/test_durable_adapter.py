"""The durable-rules adapter: past the engine's 1,024-state limit, and never silent about action errors."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from order_management import MessageBus
from order_management import commands as c
from order_management.fulfilment import (
    FULFILMENT_KINDS,
    DurableRulesAdapter,
    Entity,
    RuleActionError,
    UnknownActionError,
    event_rules_from,
)
from order_management.fulfilment.event_rules import FACT_SCHEMAS, FactType, encode_fact
from rule_language import compile_expression, load_rulesets
from tests.order_management.support import active_holds, audited, captured_id, done, instance_of

AS_OF = dt.date(2025, 7, 15)
HEADER_ONLY = "kind: event_rules\nname: p\nversion: 1\ncurrency: EUR\n"
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
    return encode_fact(FactType.LINE, {"line.id": "1", "line.days_late": days_late}, "EUR")


def test_two_thousand_orders_pass_through_one_short_lived_state_each() -> None:
    engine = adapter()
    batches = [(f"SO-{n:05d}", [line_fact(n % 3), line_fact(0)]) for n in range(2000)]
    results = engine.evaluate_many(batches)
    assert len(results) == 2000 and engine.live_states == 0
    late = [r.order_id for r in results if r.firings]
    assert len(late) == 1333 and all(int(o[3:]) % 3 for o in late)
    assert all(len(r.firings) == 1 and r.firings[0].rule.id == "late" for r in results if r.firings)
    assert engine.evaluate("SO-again", [line_fact(2)]).firings  # the engine is still healthy afterwards


def test_a_fact_meeting_both_sides_of_an_or_fires_its_rule_once() -> None:
    text = RULES.replace("line.days_late >= 1", "line.days_late >= 1 or line.days_late >= 2")
    engine = DurableRulesAdapter(event_rules_from(load_rulesets([("t.yaml", text)], FULFILMENT_KINDS)),
                                 {"notify_crm": lambda fact: None})
    assert len(engine.evaluate("SO-1", [line_fact(5)]).firings) == 1


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
    with pytest.raises(UnknownActionError, match=r"notify_crm.*did you mean `notify_cmr`"):
        DurableRulesAdapter(event_rules_from(bundle), {"notify_cmr": lambda fact: None})


def _bus_with(bus, actions) -> MessageBus:
    """A bus over the same store whose event rules are RULES, with these host actions."""
    rules = event_rules_from(load_rulesets([("t.yaml", RULES)], FULFILMENT_KINDS))
    deps = replace(bus.deps, event_rules=DurableRulesAdapter(rules, actions))
    return MessageBus(bus.store.unit_of_work, deps, store=bus.store)


def test_a_failing_action_surfaces_as_an_error_on_the_order_and_the_start_can_be_retried(bus) -> None:
    def broken(fact):
        raise ConnectionError("CRM is down")

    failing = _bus_with(bus, {"notify_crm": broken})
    order_id = captured_id(failing, lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"}])
    with pytest.raises(RuleActionError, match="CRM is down"):
        failing.handle(c.StartFulfilment(actor="desk:anna", order_id=order_id))
    instance = instance_of(bus, order_id)
    assert len(instance.errors) == 1 and "notify" in instance.errors[0] and instance.tracks == ()
    event = audited(bus, order_id, action_part="event rule failed")
    assert event and event[0].actor == "desk:anna" and "CRM is down" in event[0].after
    mended = _bus_with(bus, {"notify_crm": lambda fact: None})
    retried = mended.handle(c.StartFulfilment(actor="desk:anna", order_id=order_id))  # the CRM is back
    assert retried.tracks and retried.errors == instance.errors
    assert [h.source for h in active_holds(bus, order_id)] == ["rule:notify"]


def test_a_jeopardy_scan_of_2000_open_orders_runs_through_the_adapter(bus, clock) -> None:
    order_id = captured_id(bus, actor="web", lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"}])
    bus.handle(c.StartFulfilment(actor="web", order_id=order_id))
    late = clock.now() + dt.timedelta(days=5)
    done(bus, order_id, "1", "schedule", "pick")
    template = instance_of(bus, order_id)
    with bus.unit_of_work() as uow:
        record = uow.orders.get(order_id)
        for n in range(1, 2000):
            clone = f"{order_id}-{n:04d}"
            uow.orders.add(replace(record, order=record.order.model_copy(update={"order_id": clone})))
            track = template.tracks[0]
            if n % 2:  # every other order's carrier is late
                steps = tuple(replace(s, expected_at=late) if s.step_id == "ship" else s for s in track.steps)
                track = replace(track, steps=steps)
            uow.processes.put(replace(template, order_id=clone, tracks=(track,)), None)
        uow.commit()
    report = bus.handle(c.ScanJeopardy(actor="system:jeopardy"))
    assert report.orders == 2000 and report.errors == ()
    assert len(report.raised) == 1000 and {a.priority.value for a in report.raised} == {"high"}
    assert bus.deps.event_rules.live_states == 0
    assert len([e for e in bus.store.audit if e.entity == Entity.JEOPARDY]) == 1000


_ATOMS = st.sampled_from([
    "line.days_late >= {i}", "line.days_late < {i}", "line.days_late = {i}", "line.days_late != {i}",
    "order.total > {m}", "order.total <= {m}", "{m} < order.total",
    "order.channel = 'web'", "order.channel in ['marketplace', 'edi']",
    "customer.segment not in ['gold']", "line.days_late between {i} and {j}", "line.quantity >= {q}",
    "line.promised_date < date('2025-07-{d}')", "as_of >= date('2025-07-{d}')",
])


@st.composite
def conditions(draw, depth: int = 2) -> str:
    if depth == 0 or draw(st.booleans()):
        atom = draw(_ATOMS)
        return atom.format(i=draw(st.integers(-2, 9)), j=draw(st.integers(0, 12)),
                           m=draw(st.sampled_from(["0.00", "99.99", "100.00", "5000.01"])),
                           q=draw(st.sampled_from(["1", "2.5", "10"])), d=draw(st.sampled_from(["09", "15", "16"])))
    op = draw(st.sampled_from(["and", "or"]))
    left, right = draw(conditions(depth - 1)), draw(conditions(depth - 1))
    text = f"({left}) {op} ({right})"
    return f"not ({text})" if draw(st.booleans()) else text


@settings(max_examples=40, deadline=None)
@given(conditions(), st.lists(st.tuples(st.integers(-3, 12), st.sampled_from(["0.00", "99.99", "100.00", "100.01",
                                                                            "5000.01"]),
                                        st.sampled_from(["web", "marketplace", "edi", "store"]),
                                        st.sampled_from(["gold", "silver"]), st.sampled_from(["1", "2.5", "3"])),
                              min_size=1, max_size=6))
def test_the_engine_fires_exactly_where_the_rule_language_says_the_condition_holds(condition, facts) -> None:
    text = f"{HEADER_ONLY}jeopardy:\n  - {{id: r, when: \"{condition}\", priority: low}}\n"
    rules = event_rules_from(load_rulesets([("p.yaml", text)], FULFILMENT_KINDS))
    engine = DurableRulesAdapter(rules)
    expression = compile_expression(condition, FACT_SCHEMAS[FactType.LINE])
    encoded, expected = [], []
    for n, (days, total, channel, segment, quantity) in enumerate(facts):
        promised = dt.date(2025, 7, 10) + dt.timedelta(days=days)
        values = {"line.id": str(n), "line.days_late": days, "order.total": Decimal(total),
                  "order.channel": channel, "customer.segment": segment, "line.quantity": Decimal(quantity),
                  "line.promised_date": promised, "as_of": AS_OF}
        encoded.append(encode_fact(FactType.LINE, values, "EUR"))
        env = {"line": {"id": str(n), "days_late": days, "quantity": Decimal(quantity),
                        "promised_date": promised},
               "order": {"total": Decimal(total), "channel": channel}, "customer": {"segment": segment},
               "as_of": AS_OF}
        if expression.evaluate(env):
            expected.append(str(n))
    fired = sorted(f.fact["line__id"] for f in engine.evaluate("SO-p", encoded).firings)
    assert fired == sorted(expected)


def test_calls_from_many_threads_are_serialised_and_each_gets_its_own_answer() -> None:
    from concurrent.futures import ThreadPoolExecutor

    engine = adapter()

    def run(n: int) -> tuple[int, bool]:
        return n, bool(engine.evaluate(f"SO-{n}", [line_fact(n % 2)]).firings)

    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(run, range(400)))
    assert all(fired == bool(n % 2) for n, fired in answers)
    assert engine.live_states == 0
