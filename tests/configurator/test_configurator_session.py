"""The session: choices, exact domains, minimal explanations, restorations, completions."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from configurator import (
    Configurator,
    ConflictError,
    ProductModel,
    TableConstraint,
    TableKind,
    UnknownValueError,
    UnknownVariableError,
    Variable,
)
from tests.configurator.configurator_helpers import (
    brute_force_domains,
    brute_force_solutions,
    table_models,
)


def _consistent(model: ProductModel, choices: dict[str, object], constraint_ids: set[str]
                ) -> bool:
    """Brute force: do these choices have a solution under only these constraints?"""
    sub = ProductModel(model.name, model.variables,
                       tuple(c for c in model.constraints if c.id in constraint_ids))
    return any(all(s[k] == v for k, v in choices.items()) for s in brute_force_solutions(sub))


def _bike() -> ProductModel:
    return ProductModel("bike", (
        Variable("frame", ("road", "mtb", "city"), default="city"),
        Variable("tyre", ("slick", "knobby", "touring")),
        Variable("brake", ("rim", "disc"), default="rim"),
    ), (
        TableConstraint("frame-tyre", ("frame", "tyre"),
                        (("road", "slick"), ("mtb", "knobby"), ("city", "touring"),
                         ("city", "slick")), message="each frame takes its tyres"),
        TableConstraint("mtb-disc", ("frame", "brake"), (("mtb", "rim"),), TableKind.FORBIDDEN,
                        message="mountain bikes have disc brakes"),
    ))


@settings(max_examples=80)
@given(data=st.data())
def test_a_hidden_value_comes_with_a_minimal_conflict_that_really_forbids_it(
        data: st.DataObject) -> None:
    model = data.draw(table_models())
    session = Configurator(model).session()
    for var in data.draw(st.permutations(model.variables)):
        options = session.valid_domains()[var.name]
        if options and data.draw(st.booleans()):
            session.choose(var.name, data.draw(st.sampled_from(options)))
    assume(session.is_consistent())
    all_ids = {c.id for c in model.constraints}
    for var in model.variables:
        shown = set(session.valid_domains()[var.name])
        if var.name in session.choices:   # its other values need only replacing the choice
            others = {k: v for k, v in session.choices.items() if k != var.name}
            shown = brute_force_domains(model, others)[var.name]
        for value in var.domain:
            explanation = session.why_not(var.name, value)
            if value in shown:
                assert explanation is None
                continue
            assert explanation is not None
            chosen = {c.variable: c.value for c in explanation.choices}
            ids = {c.id for c in explanation.constraints}
            assert ids <= all_ids
            assert all(session.choices[k] == v for k, v in chosen.items())
            request = {var.name: value}
            assert not _consistent(model, {**chosen, **request}, ids)
            for drop in chosen:   # minimal: every member is needed
                rest = {k: v for k, v in chosen.items() if k != drop}
                assert _consistent(model, {**rest, **request}, ids)
            for drop in ids:
                assert _consistent(model, {**chosen, **request}, ids - {drop})


@settings(max_examples=80)
@given(data=st.data())
def test_restoration_undoes_the_fewest_choices(data: st.DataObject) -> None:
    model = data.draw(table_models())
    session = Configurator(model).session()
    for var in model.variables:
        options = session.valid_domains()[var.name]
        if options and data.draw(st.booleans()):
            session.choose(var.name, data.draw(st.sampled_from(options)))
    var = data.draw(st.sampled_from(model.variables))
    value = data.draw(st.sampled_from(var.domain))
    restoration = session.restoration(var.name, value)
    others = {k: v for k, v in session.choices.items() if k != var.name}
    all_ids = {c.id for c in model.constraints}
    if not restoration.possible:
        assert not _consistent(model, {var.name: value}, all_ids)
        return
    undo = {c.variable for c in restoration.undo}
    kept = {k: v for k, v in others.items() if k not in undo}
    assert _consistent(model, {**kept, var.name: value}, all_ids)
    for smaller in itertools.combinations(others, len(undo) - 1 if undo else 0):
        if len(undo) == 0:
            break
        rest = {k: v for k, v in others.items() if k not in smaller}
        assert not _consistent(model, {**rest, var.name: value}, all_ids)


@settings(max_examples=60)
@given(data=st.data())
def test_completion_is_valid_and_the_cost_optimum_is_minimal(data: st.DataObject) -> None:
    model = data.draw(table_models())
    solutions = brute_force_solutions(model)
    assume(solutions)
    session = Configurator(model).session()
    full = session.complete()
    assert not model.violated(full) and len(full) == len(model.variables)
    cost = {v.name: {x: data.draw(st.integers(0, 9)) for x in v.domain} for v in model.variables}
    cheapest = session.complete(cost)
    total = sum(cost[k][v] for k, v in cheapest.items())
    assert not model.violated(cheapest)
    assert total == min(sum(cost[k][v] for k, v in s.items()) for s in solutions)


def test_valid_domains_follow_choose_replace_and_unchoose() -> None:
    session = Configurator(_bike()).session()
    assert session.valid_domains()["tyre"] == ("slick", "knobby", "touring")
    session.choose("frame", "mtb")
    assert session.valid_domains() == {"frame": ("mtb",), "tyre": ("knobby",),
                                       "brake": ("disc",)}
    assert session.is_complete()
    session.choose("frame", "road")          # replacing a choice is not a conflict
    assert session.valid_values("tyre") == ("slick",)
    session.unchoose("frame")
    assert session.choices == {}
    assert session.valid_values("brake") == ("rim", "disc")


def test_a_conflicting_choice_raises_with_the_explanation_and_changes_nothing() -> None:
    session = Configurator(_bike()).session()
    session.choose("tyre", "touring")
    with pytest.raises(ConflictError) as caught:
        session.choose("frame", "road")
    explanation = caught.value.explanation
    assert [str(c) for c in explanation.choices] == ["tyre = touring"]
    assert [c.id for c in explanation.constraints] == ["frame-tyre"]
    assert "each frame takes its tyres" in str(caught.value)
    assert session.choices == {"tyre": "touring"}
    assert [str(c) for c in session.restoration("frame", "road").undo] == ["tyre = touring"]


def test_unknown_names_and_values_are_lookup_errors_with_hints() -> None:
    session = Configurator(_bike()).session()
    with pytest.raises(UnknownVariableError, match="did you mean 'frame'"):
        session.choose("fram", "road")
    with pytest.raises(UnknownValueError, match="'gravel' is not in the domain of 'frame'"):
        session.choose("frame", "gravel")
    with pytest.raises(LookupError):
        session.why_not("brakes", "disc")


def test_defaults_are_honoured_where_possible_and_skipped_where_not() -> None:
    session = Configurator(_bike()).session()
    assert session.complete() == {"frame": "city", "tyre": "slick", "brake": "rim"}
    session.choose("tyre", "knobby")            # forces mtb, whose brakes must be disc
    assert session.complete() == {"frame": "mtb", "tyre": "knobby", "brake": "disc"}


def test_decimal_costs_are_minimised_exactly_and_floats_refused() -> None:
    session = Configurator(_bike()).session()
    cost = {"frame": {"road": Decimal("0.10"), "mtb": Decimal("0.30"), "city": Decimal("0.11")},
            "brake": {"rim": Decimal("0.05"), "disc": Decimal("0")}}
    assert session.complete(cost) == {"frame": "road", "tyre": "slick", "brake": "disc"}
    with pytest.raises(TypeError):
        session.complete({"frame": {"road": 0.1}})  # type: ignore[dict-item]


def test_validate_reports_unknown_values_missing_variables_and_conflicts() -> None:
    session = Configurator(_bike()).session()
    ok = session.validate({"frame": "road", "tyre": "slick", "brake": "disc"})
    assert ok.valid and ok.complete
    partial = session.validate({"frame": "road"})
    assert not partial.valid and "no value for 2 variable(s)" in partial.problems[0]
    unknown = session.validate({"frame": "bmx", "tyre": "fat", "brake": "disc"})
    assert not unknown.valid and len(unknown.problems) == 2
    broken = session.validate({"frame": "mtb", "tyre": "knobby", "brake": "rim"})
    assert not broken.valid
    assert broken.explanation is not None
    assert [c.id for c in broken.explanation.constraints] == ["mtb-disc"]


def test_a_value_impossible_everywhere_is_explained_by_constraints_alone() -> None:
    model = ProductModel("m", (Variable("a", (0, 1)), Variable("b", (0, 1))), (
        TableConstraint("only-zero", ("a",), ((0,),), message="a is always 0"),))
    session = Configurator(model).session()
    session.choose("b", 1)
    explanation = session.why_not("a", 1)
    assert explanation is not None and explanation.choices == ()
    assert [c.id for c in explanation.constraints] == ["only-zero"]
    assert not session.restoration("a", 1).possible


def test_the_valid_domains_match_the_oracle_after_each_step_of_a_session() -> None:
    model = _bike()
    session = Configurator(model).session()
    for name, value in (("brake", "disc"), ("tyre", "slick")):
        session.choose(name, value)
        expected = brute_force_domains(model, session.choices)
        assert {k: set(v) for k, v in session.valid_domains().items()} == expected
