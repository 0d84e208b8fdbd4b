"""Decision tables: hit policies, traces, and what the loader proves about the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rule_language import EvaluationError, RulesetLoadError, Severity, load_rulesets

HEADER = """\
kind: decision_table
name: t
version: 1
symbols:
  customer.segment: {type: enum, values: [gold, silver, standard]}
  order.total: decimal
  line.quantity: integer
  order.date: date
"""


def table(body: str):
    bundle = load_rulesets([("t.yaml", HEADER + body)], [])
    return bundle.get("t").artefact, bundle.warnings


def env(segment="gold", total="100", quantity=1, date=dt.date(2026, 1, 1)):
    return {"customer": {"segment": segment}, "order": {"total": Decimal(total), "date": date},
            "line": {"quantity": quantity}}


VOLUME = """\
hit_policy: UNIQUE
inputs: [line.quantity]
outputs: [{name: unit_price, type: "money[EUR]"}]
rules:
  - ["[1..5]", 7.00]
  - ["[6..10]", 6.50]
  - [">= 11", 6.00]
"""


def test_unique_table_picks_the_one_matching_row_and_traces_it() -> None:
    compiled, warnings = table(VOLUME)
    result = compiled.evaluate(env(quantity=6), trace=True)
    assert result.value == Decimal("6.50")
    assert result.fired_rows == (2,)
    assert result.inputs == {"line.quantity": 6}
    # integer column: [1..5] then [6..10] leaves no gap between 5 and 6; only quantities < 1 are uncovered
    assert [w.message for w in warnings] == ["no row matches line.quantity <= 0"]


@given(st.integers(1, 10_000))
def test_unique_tiers_cover_every_positive_quantity_exactly_once(quantity: int) -> None:
    compiled, _ = table(VOLUME)
    result = compiled.evaluate(env(quantity=quantity), trace=True)
    expected = Decimal("7.00") if quantity <= 5 else Decimal("6.50") if quantity <= 10 else Decimal("6.00")
    assert result.value == expected and len(result.fired_rows) == 1


def test_first_hit_takes_the_first_match_in_row_order() -> None:
    compiled, _ = table("""\
hit_policy: FIRST
inputs: [customer.segment, order.total]
outputs: [{name: rate, type: decimal}]
rules:
  - [gold, ">= 1000", 15]
  - [gold, "-", 10]
  - ["-", "-", 0]
""")
    assert compiled.evaluate(env("gold", "5000")).value == 15
    assert compiled.evaluate(env("gold", "50")).value == 10
    assert compiled.evaluate(env("silver", "5000")).value == 0


def test_priority_picks_the_most_important_output_among_matches() -> None:
    compiled, _ = table("""\
hit_policy: PRIORITY
inputs: [customer.segment, order.total]
outputs:
  - name: approval
    type: {type: enum, values: [none, manager, director]}
    priority: [director, manager, none]
rules:
  - ["-", "-", none]
  - ["-", "> 10000", manager]
  - [standard, "> 50000", director]
""")
    assert compiled.evaluate(env("standard", "60000")).value == "director"
    result = compiled.evaluate(env("gold", "60000"), trace=True)
    assert result.value == "manager" and result.fired_rows == (2,)


def test_any_allows_overlaps_that_agree_and_refuses_ones_that_do_not() -> None:
    compiled, _ = table("""\
hit_policy: ANY
inputs: [customer.segment, order.total]
outputs: [{name: free_shipping, type: boolean}]
rules:
  - [gold, "-", true]
  - ["-", ">= 500", true]
  - [not(gold), "< 500", false]
""")
    assert compiled.evaluate(env("gold", "600")).value is True
    with pytest.raises(RulesetLoadError, match="different outputs under the ANY"):
        table("""\
hit_policy: ANY
inputs: [customer.segment]
outputs: [{name: free_shipping, type: boolean}]
rules:
  - [gold, true]
  - ["gold, silver", false]
  - [standard, false]
""")


@pytest.mark.parametrize(("aggregation", "expected"), [("SUM", Decimal("7")), ("MIN", 2), ("MAX", 5),
                                                       ("COUNT", 2)])
def test_collect_aggregates_every_matching_row(aggregation: str, expected: object) -> None:
    compiled, warnings = table(f"""\
hit_policy: COLLECT
aggregation: {aggregation}
inputs: [customer.segment, line.quantity]
outputs: [{{name: points, type: integer}}]
rules:
  - [gold, "-", 5]
  - ["-", ">= 10", 2]
  - [silver, "-", 1]
""")
    assert compiled.evaluate(env("gold", quantity=12)).value == expected
    assert warnings == ()  # gaps are normal for COLLECT


def test_rule_order_lists_outputs_in_row_order_with_expressions() -> None:
    compiled, _ = table("""\
hit_policy: RULE_ORDER
inputs: [order.total]
outputs: [{name: fee, type: decimal}]
rules:
  - [">= 100", "order.total * 0.01"]
  - ["-", 2.50]
""")
    assert compiled.evaluate(env(total="300")).value == [Decimal("3.00"), Decimal("2.50")]


def test_date_ranges_and_negated_text_cells() -> None:
    compiled, _ = table("""\
hit_policy: FIRST
inputs: [order.date, customer.segment]
outputs: [{name: promo, type: string}]
default: {promo: none}
rules:
  - ["[2026-11-27..2026-11-30]", not(standard), black-friday]
  - ["> 2026-12-01", "-", winter]
""")
    assert compiled.evaluate(env("gold", date=dt.date(2026, 11, 28))).value == "black-friday"
    assert compiled.evaluate(env("standard", date=dt.date(2026, 11, 28))).value == "none"
    assert compiled.evaluate(env("standard", date=dt.date(2026, 12, 2))).value == "winter"


def test_gaps_are_warnings_and_a_default_silences_them() -> None:
    body = """\
hit_policy: UNIQUE
inputs: [customer.segment, order.total]
outputs: [{name: rate, type: decimal}]
rules:
  - [gold, "< 1000", 5]
  - [gold, ">= 1000", 10]
  - [silver, "-", 3]
"""
    _, warnings = table(body)
    assert all(w.severity == Severity.WARNING for w in warnings)
    assert [w.message for w in warnings] == ["no row matches customer.segment 'standard'"]
    _, silenced = table(body + "default: {rate: 0}\n")
    assert silenced == ()


def test_unique_overlap_on_a_half_open_boundary_is_caught() -> None:
    with pytest.raises(RulesetLoadError) as caught:
        table("""\
hit_policy: UNIQUE
inputs: [order.total]
outputs: [{name: rate, type: decimal}]
rules:
  - ["< 100", 0]
  - ["[99.99..200)", 5]
  - [">= 200", 10]
""")
    problem = caught.value.problems[0]
    assert "rows 1 and 2 overlap" in problem.message and "[99.99..100)" in problem.message
    assert problem.line == HEADER.count("\n") + 6


def test_an_input_outside_the_declared_values_is_an_evaluation_error() -> None:
    compiled, _ = table(VOLUME.replace("line.quantity]", "line.quantity, customer.segment]")
                        .replace('"[1..5]", 7.00', '"[1..5]", "-", 7.00')
                        .replace('"[6..10]", 6.50', '"[6..10]", "-", 6.50')
                        .replace('">= 11", 6.00', '">= 11", "-", 6.00'))
    with pytest.raises(EvaluationError, match="not one of the declared values"):
        compiled.evaluate(env("platinum", quantity=3))
