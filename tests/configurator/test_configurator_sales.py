"""Real sales histories against the Renault models: fitting rows accepted, others explained.

The README of ../shared/benchmarks/configurator/renault_br4cp counts, per
model, the sold rows that fit, that violate a constraint, and that use a value
outside the domains. Every fitting row must be accepted (it extends to a full
solution); every other row must be rejected, with an "unknown value" error or
with an explanation whose constraints really forbid it. "Really" is checked
independently of the SAT solver that found it: python-constraint searches the
sub-model made of only the explanation's constraints, with the row's values
fixed, and must find nothing; and with any one member dropped it must find a
solution (minimality).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator

import pytest
from constraint import FunctionConstraint, Problem

from configurator import Configurator, Explanation, ProductModel, UnknownValueError
from tests.configurator.configurator_helpers import BR4CP, need_data

EXPECTED = {  # fit, violate, unknown value (README of renault_br4cp)
    "small": (564, 14_265, 1_143),
    "medium": (4_684, 282, 4_185),
    "big": (4_067, 1_705, 2_754),
}


def _rows(size: str) -> Iterator[dict[str, str]]:
    with (BR4CP / f"renault_{size}_sales.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            row.pop("vfreq", None)
            row.pop("nombre", None)
            yield row


def _parse(model: ProductModel, row: dict[str, str]) -> dict[str, object] | None:
    try:
        return {name: model.variable(name).parse(text) for name, text in row.items()}
    except UnknownValueError:
        return None


def _independently_inconsistent(model: ProductModel, choices: dict[str, object],
                                constraint_ids: set[str]) -> bool:
    """python-constraint on the explanation's sub-model: no solution?"""
    problem = Problem()
    tables = [c for c in model.constraints if c.id in constraint_ids]
    names = {n for c in tables for n in c.scope} | set(choices)
    for name in names:
        domain = model.variable(name).domain
        problem.addVariable(name, [choices[name]] if name in choices else list(domain))
    for table in tables:
        problem.addConstraint(FunctionConstraint(
            lambda *values, t=table: t.allows(tuple(values))), list(table.scope))
    return problem.getSolution() is None


def _check_explanation(model: ProductModel, explanation: Explanation,
                       row: dict[str, object]) -> None:
    chosen = {c.variable: c.value for c in explanation.choices}
    ids = {c.id for c in explanation.constraints}
    assert ids, "a conflict always involves a constraint"
    assert all(row[k] == v for k, v in chosen.items()), "only the row's own values"
    assert all(c.message for c in explanation.constraints)
    assert _independently_inconsistent(model, chosen, ids)
    for drop in chosen:
        rest = {k: v for k, v in chosen.items() if k != drop}
        assert not _independently_inconsistent(model, rest, ids), f"{drop} is not needed"
    for drop in ids:
        assert not _independently_inconsistent(model, chosen, ids - {drop}), f"{drop} unneeded"


def _replay(size: str, model: ProductModel, explain_every: int) -> tuple[int, int, int]:
    configurator = Configurator(model)
    fit = violate = unknown = 0
    for number, row in enumerate(_rows(size)):
        parsed = _parse(model, row)
        if parsed is None:
            unknown += 1
            raw = {name: int(text) if text.lstrip("-").isdigit() else text
                   for name, text in row.items()}
            rejected = configurator.validate(raw)
            assert not rejected.valid and rejected.problems
            assert all("is not in the domain of" in p for p in rejected.problems)
            continue
        result = configurator.validate(parsed)
        if result.valid:
            fit += 1
            continue
        violate += 1
        assert result.explanation is not None
        if number % explain_every == 0:
            _check_explanation(model, result.explanation, parsed)
    return fit, violate, unknown


@pytest.mark.parametrize("size, every", [("small", 31), ("medium", 1)])
def test_sales_rows_fit_or_are_explained(size: str, every: int, renault: dict) -> None:
    """Exact counts; explanations checked on every medium row and a sample of small's."""
    need_data(BR4CP / f"renault_{size}_sales.csv")
    assert _replay(size, renault[size], explain_every=every) == EXPECTED[size]


@pytest.mark.slow
@pytest.mark.parametrize("size", ["small", "big"])
def test_every_conflicting_sales_row_has_a_verified_minimal_explanation(size: str,
                                                                       renault: dict) -> None:
    """All 14,265 (small) and 1,705 (big) conflicting rows, each explanation re-checked."""
    need_data(BR4CP / f"renault_{size}_sales.csv")
    assert _replay(size, renault[size], explain_every=1) == EXPECTED[size]


def test_sold_configurations_replayed_as_choices_stay_consistent(renault: dict) -> None:
    """A fitting row chosen value by value never hits a conflict, and ends consistent."""
    model = renault["medium"]
    configurator = Configurator(model)
    fitting = [p for row in _rows("medium") if (p := _parse(model, row)) is not None
               and configurator.validate(p).valid]
    for parsed in random.Random(3).sample(fitting, 5):
        session = configurator.session()
        for name, value in parsed.items():
            assert value in session.valid_values(name)
            session.choose(name, value)
        assert session.is_consistent()
        completion = session.complete()
        assert not model.violated(completion)
