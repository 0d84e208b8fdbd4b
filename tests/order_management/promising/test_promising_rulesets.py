"""The ``sourcing`` ruleset kind: loading, located errors, scenarios, and the public API."""

from __future__ import annotations

import datetime as dt

import pytest

import order_management.promising as promising
from order_management.promising import (
    PROMISING_KINDS,
    InMemoryReservationStore,
    SourcingRuleError,
    check_availability,
    promising_rules_from_yaml,
)
from rule_language import RulesetLoadError, load_rulesets, read_sources, run_scenarios
from tests.order_management.promising.builders import AS_OF, SCENARIOS, SOURCING, order, supply


def test_the_public_api_is_exported_sorted_and_complete():
    assert promising.__all__ == sorted(promising.__all__, key=lambda n: (not n.isupper(), n))
    missing = [name for name in promising.__all__ if not hasattr(promising, name)]
    assert missing == []
    for name in ("check_availability", "promise", "reserve", "release", "ReservationStore",
                 "InMemoryReservationStore", "PromisingError", "PROMISING_KINDS", "plan_promise"):
        assert name in promising.__all__
    assert [k.name for k in promising.PROMISING_KINDS] == ["sourcing"]


def test_every_error_is_a_promising_error_an_order_error_and_a_builtin():
    from order_management.errors import OrderError

    assert issubclass(promising.PromisingError, OrderError)
    for name in promising.errors.__all__:
        if name == "PromisingError":
            continue
        cls = getattr(promising.errors, name)
        assert issubclass(cls, promising.PromisingError)
        assert issubclass(cls, ValueError | LookupError | RuntimeError), name


def test_the_sample_rules_load_without_warnings():
    bundle = load_rulesets([*read_sources(SOURCING), *read_sources(SCENARIOS)], PROMISING_KINDS)
    assert bundle.warnings == ()
    rules = bundle.get("outdoor-sourcing").artefact
    assert [r.name for r in rules.sourcing] == ["marketplace", "dach", "france-benelux", "rest-of-world"]
    assert rules.policy("FLEET-PRO").mode == "infinite"
    assert rules.policy("BOTTLE").atp_time_fence_days == 60  # the default policy


def test_the_sample_scenarios_pass():
    bundle = load_rulesets([*read_sources(SOURCING), *read_sources(SCENARIOS)], PROMISING_KINDS)
    outcomes = run_scenarios(bundle, PROMISING_KINDS)
    assert len(outcomes) == 8
    assert [str(o) for o in outcomes if not o.passed] == []


BROKEN = """\
kind: sourcing
name: broken
version: 1
locations:
  - {id: DE-KS}
  - {id: FR-LY}
lanes:
  - {from: DE-KS, to: "*", transit_days: 1}
  - {from: DE-KZ, to: [FR, fr], transit_days: 1}
demand_classes:
  - {name: key-accounts, when: "customer.segment = 'gold'"}
allocations:
  - shares:
      - {demand_class: key-acounts, share: 0.6, release_after_days: 3}
      - {demand_class: key-accounts, share: 0.5, release_after_days: 3}
rules:
  - name: everything
    locations: [DE-KS, FR-LY]
  - name: france
    when: "ship_to.contry = 'FR'"
    locations: [FR-LX]
"""


def test_a_broken_sourcing_file_reports_every_problem_with_its_line_and_a_suggestion():
    with pytest.raises(RulesetLoadError) as failed:
        promising_rules_from_yaml(BROKEN, "broken.yaml")
    problems = {(p.line, p.message, p.hint) for p in failed.value.problems if p.severity == "error"}
    assert (9, "unknown location `DE-KZ`", "did you mean `DE-KS`?") in problems
    assert any(line == 9 and "`fr` is not a country code" in msg for line, msg, _ in problems)
    assert (14, "unknown demand class `key-acounts`", "did you mean `key-accounts`?") in problems
    assert any(line == 14 and "add up to 1.1" in msg for line, msg, _ in problems)
    assert any(line == 20 and "unknown symbol `ship_to.contry`" in msg for line, msg, _ in problems)
    assert (21, "unknown location `FR-LX`", "did you mean `FR-LY`?") in problems
    warnings = [p for p in failed.value.problems if p.severity == "warning"]
    assert any(p.line == 19 and "can never apply" in p.message for p in warnings)


def test_a_condition_reading_a_missing_value_names_the_rule_and_the_fix():
    rules = promising_rules_from_yaml(BROKEN.replace("ship_to.contry", "ship_to.country")
                                      .replace("DE-KZ, to: [FR, fr]", "DE-KS, to: [FR]")
                                      .replace("key-acounts, share: 0.6", "key-accounts, share: 0.2")
                                      .replace("      - {demand_class: key-accounts, share: 0.5, "
                                               "release_after_days: 3}\n", "")
                                      .replace("[FR-LX]", "[FR-LY]"))
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 5)])
    with pytest.raises(SourcingRuleError, match=r"rule `key-accounts`: .*customer.segment.*is_set"):
        check_availability(store, order("X", ("1", "BOTTLE", 1)), rules, as_of=AS_OF)


def test_a_request_no_rule_matches_asks_for_a_fallback_rule():
    rules = promising_rules_from_yaml("""\
kind: sourcing
name: france-only
version: 1
locations: [{id: FR-LY}]
lanes: [{from: FR-LY, to: [FR], transit_days: 1}]
rules:
  - {name: france, when: "ship_to.country = 'FR'", locations: [FR-LY]}
""")
    with pytest.raises(SourcingRuleError, match="add a last rule without `when`"):
        check_availability(InMemoryReservationStore(), order("X", ("1", "BOTTLE", 1), country="JP"), rules,
                           as_of=dt.date(2026, 1, 1))


def test_a_misspelt_demand_class_is_refused_with_a_suggestion_instead_of_losing_its_priority(rules):
    from order_management.promising import PromisingInputError

    store = InMemoryReservationStore([supply("BIKE-CITY", "DE-KS", 10)])
    with pytest.raises(PromisingInputError, match=r"demand_class: unknown demand class 'key-acounts'.*key-accounts"):
        check_availability(store, order("KA-9", ("1", "BIKE-CITY", 1), demand_class="key-acounts"), rules,
                           as_of=AS_OF)
    plan = check_availability(store, order("KA-9", ("1", "BIKE-CITY", 1), demand_class="standard"), rules,
                              as_of=AS_OF)
    assert plan.demand_class == "standard"
