"""Process and event-rule files: precise load errors; the pure step machine and refunds as properties."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

import order_management.fulfilment as fulfilment
from order_management.fulfilment import FULFILMENT_KINDS, EventType, StepStatus, StepTransitionError
from order_management.fulfilment.process import (
    cancel_track,
    complete_step,
    projected_completion,
    replan,
    start_track,
)
from order_management.fulfilment.returns import unit_refunds
from rule_language import RulesetLoadError, load_rulesets

T0 = dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC)


def load(text: str):
    return load_rulesets([("f.yaml", text)], FULFILMENT_KINDS)


def problems(text: str) -> list[str]:
    with pytest.raises(RulesetLoadError) as caught:
        load(text)
    return [str(p) for p in caught.value.problems]


HEADER = "kind: event_rules\nname: t\nversion: 1\n"


def test_the_public_api_is_what_init_exports() -> None:
    import types

    public = {n for n in dir(fulfilment) if not n.startswith("_")
              and not isinstance(getattr(fulfilment, n), types.ModuleType)}
    assert sorted(fulfilment.__all__) == sorted(public)
    assert [k.name for k in fulfilment.FULFILMENT_KINDS] == ["process", "event_rules"]


def test_a_condition_the_engine_cannot_run_is_a_located_load_error_in_our_words() -> None:
    found = problems(HEADER + "currency: EUR\njeopardy:\n  - {id: x, when: 'line.days_late * 2 > 3', priority: low}\n")
    assert len(found) == 1 and found[0].startswith("f.yaml:6:")
    assert "cannot run in the event engine" in found[0] and "arithmetic" in found[0]


def test_money_in_a_condition_needs_the_files_currency() -> None:
    found = problems(HEADER + "approvals:\n  - {id: x, when: 'order.total > 10.00', role: boss, reason: r}\n")
    assert "needs the file's `currency`" in found[0]


def test_a_misspelt_fact_field_gets_a_suggestion() -> None:
    found = problems(HEADER + "jeopardy:\n  - {id: x, when: 'line.days_lat >= 1', priority: low}\n")
    assert "line.days_late" in found[0]


def test_an_amount_finer_than_the_currency_is_refused() -> None:
    found = problems(HEADER + "currency: JPY\napprovals:\n  - {id: x, when: 'order.total > 10.5', role: b, "
                     "reason: r}\n")
    assert "more decimals" in found[0]


def test_not_in_and_between_translate_to_engine_conditions() -> None:
    rules = load(HEADER + "holds:\n  - {id: x, when: \"not (customer.segment in ['a', 'b']) and "
                 "order.line_count between 2 and 4\", reason: r}\n").get("t").artefact
    assert rules.rules[0].condition == {"$and": [{"type": "order"}, {"$and": [
        {"$and": [{"$neq": {"customer__segment": "a"}}, {"$neq": {"customer__segment": "b"}}]},
        {"$and": [{"$gte": {"order__line_count": 2}}, {"$lte": {"order__line_count": 4}}]}]}]}


PROCESS = """
kind: process
name: p
version: 1
processes:
  - id: goods
    replan_from: schedul
    steps:
      - {id: reserve, duration_days: 0, completes_on: auto}
      - {id: schedule, duration_days: 0.5}
      - {id: ship, duration_days: 1, compensate: cancel_shipment_request, completes_on: shipment_confirmed}
"""


def test_process_files_report_every_problem_with_a_hint() -> None:
    found = problems(PROCESS)
    assert any("no step 'schedul'" in p and "hint: steps: reserve, schedule, ship" in p for p in found) or any(
        "compensate" in p for p in found)
    fixed = PROCESS.replace("schedul\n", "schedule\n").replace("compensate: cancel_shipment_request, ", "")
    assert [p.id for p in load(fixed).get("p").artefact.processes] == ["goods"]


def _goods():
    text = PROCESS.replace("schedul\n", "schedule\n").replace(
        "compensate: cancel_shipment_request,", "on_start: request_shipment, compensate: cancel_shipment_request,")
    return load(text).get("p").artefact.processes[0]


def test_a_track_runs_its_auto_steps_and_projects_from_planned_durations() -> None:
    goods = _goods()
    track, commands = start_track(goods, "T1", ("1",), T0)
    assert [s.status for s in track.steps] == [StepStatus.DONE, StepStatus.ACTIVE, StepStatus.PENDING]
    assert commands == []
    assert projected_completion(goods, track, T0) == T0 + dt.timedelta(days=1.5)
    track, commands = complete_step(goods, track, EventType.STEP_COMPLETED, "schedule", T0 + dt.timedelta(hours=2))
    assert [c.kind.value for c in commands] == ["request_shipment"]
    late = T0 + dt.timedelta(days=4)
    assert projected_completion(goods, track, late) == late  # overdue: not before now


@given(st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=3))
def test_replanning_never_undoes_steps_before_the_replan_point(done_before: int, extra: int) -> None:
    goods = _goods()
    track, _ = start_track(goods, "T1", ("1",), T0)
    events = [("schedule", EventType.STEP_COMPLETED), (None, EventType.SHIPMENT_CONFIRMED)][:min(done_before, 2)]
    for step, event in events:
        track, _ = complete_step(goods, track, event, step, T0)
    new, commands = replan(goods, track, T0 + dt.timedelta(hours=extra))
    assert new.steps[0].status == StepStatus.DONE
    sent = [s for s in track.steps if s.sent]
    assert len([c for c in commands if c.compensates]) == len(sent)
    if not track.done or events:
        assert new.steps[goods.replan_index].status in (StepStatus.ACTIVE, StepStatus.PENDING)


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=999_999),
       st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=8))
def test_returning_every_unit_in_any_parcels_refunds_the_line_gross_exactly(quantity, cents, parcels) -> None:
    gross = Decimal(cents) / 100
    returned = Decimal(0)
    total = Decimal(0)
    for size in parcels:
        units = min(Decimal(size), quantity - returned)
        total += unit_refunds(gross, "EUR", Decimal(quantity), returned, units)
        returned += units
    if returned < quantity:
        total += unit_refunds(gross, "EUR", Decimal(quantity), returned, quantity - returned)
    assert total == gross


def test_the_sample_scenario_files_pass(fulfilment_bundle) -> None:
    from rule_language import run_scenarios

    outcomes = run_scenarios(fulfilment_bundle, FULFILMENT_KINDS)
    assert len(outcomes) == 14
    assert [str(o) for o in outcomes if not o.passed] == []


def test_a_process_id_defined_in_two_files_is_an_error() -> None:
    text = PROCESS.replace("schedul\n", "schedule\n").replace("compensate: cancel_shipment_request, ", "")
    with pytest.raises(RulesetLoadError) as caught:
        load_rulesets([("a.yaml", text), ("b.yaml", text.replace("name: p", "name: q"))], FULFILMENT_KINDS)
    assert ["also defined in a.yaml" in str(p) for p in caught.value.problems] == [True]


_MOVES = st.lists(st.one_of(st.tuples(st.just("complete"), st.sampled_from(["schedule", "ship"])),
                            st.tuples(st.just("replan"), st.booleans()), st.tuples(st.just("cancel"), st.none())),
                  max_size=12)


@given(_MOVES)
def test_any_sequence_of_events_and_changes_keeps_a_track_well_formed(moves) -> None:
    goods = _goods()
    track, sent = start_track(goods, "T1", ("1",), T0)
    commands = list(sent)
    for n, (move, arg) in enumerate(moves):
        at = T0 + dt.timedelta(hours=n + 1)
        try:
            if move == "complete":
                event = EventType.STEP_COMPLETED if arg == "schedule" else EventType.SHIPMENT_CONFIRMED
                track, sent = complete_step(goods, track, event, arg if arg == "schedule" else None, at)
            elif move == "replan":
                track, sent = replan(goods, track, at, restart=arg)
            else:
                track, sent = cancel_track(goods, track, at)
        except StepTransitionError:
            continue
        commands.extend(sent)
        statuses = [s.status for s in track.steps]
        assert statuses.count(StepStatus.ACTIVE) <= 1
        if StepStatus.ACTIVE in statuses:
            i = statuses.index(StepStatus.ACTIVE)
            assert all(s == StepStatus.DONE for s in statuses[:i])
            assert all(s == StepStatus.PENDING for s in statuses[i + 1:])
        if track.cancelled:
            break
    sent_ids = [c.command_id for c in commands if c.compensates is None]
    taken_back = [c.compensates for c in commands if c.compensates is not None]
    assert set(taken_back) <= set(sent_ids) and len(taken_back) == len(set(taken_back))


def test_a_long_or_chain_becomes_one_flat_condition_for_the_event_engine() -> None:
    from order_management.fulfilment import FULFILMENT_KINDS, event_rules_from
    from rule_language import load_rulesets

    terms = " or ".join(f"line.days_late = {i}" for i in range(380))
    text = (f"kind: event_rules\nname: long\nversion: 1\n"
            f"jeopardy:\n  - id: many\n    when: {terms}\n    priority: high\n")
    [rule] = event_rules_from(load_rulesets([("long.yaml", text)], FULFILMENT_KINDS))[0].rules
    fact_type, alternatives = rule.condition["$and"]
    assert fact_type == {"type": "line"} and len(alternatives["$or"]) == 380
