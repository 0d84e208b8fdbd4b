"""One contract for every solver backend: exact valid domains, on random and real models."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from configurator import BACKEND_NAMES, BackendError, Configurator, ProductModel, get_backend
from configurator.backends import Solver
from configurator.model import mask_values
from tests.configurator.configurator_helpers import brute_force_domains, table_models


def _domains(solver: Solver, model: ProductModel, choices: dict[str, object]
             ) -> dict[str, set[object]]:
    ix = model.indexed
    assignment = {ix.index[k]: ix.value_index[ix.index[k]][v] for k, v in choices.items()}
    masks = solver.valid_domains(assignment)
    return {name: {ix.domains[i][k] for k in mask_values(masks[i])}
            for i, name in enumerate(ix.names)}


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@settings(max_examples=60)
@given(data=st.data())
def test_valid_domains_equal_brute_force_enumeration(backend: str, data: st.DataObject) -> None:
    model = data.draw(table_models())
    solver = get_backend(backend).compile(model.indexed)
    choices: dict[str, object] = {}
    for var in data.draw(st.permutations(model.variables)):
        if data.draw(st.booleans()):
            choices[var.name] = data.draw(st.sampled_from(var.domain))
        # every prefix of the choices, including inconsistent ones (all empty then)
        assert _domains(solver, model, choices) == brute_force_domains(model, choices)


@pytest.mark.parametrize("backend", BACKEND_NAMES)
@settings(max_examples=40)
@given(model=table_models())
def test_find_solution_extends_the_assignment_or_proves_there_is_none(
        backend: str, model: ProductModel) -> None:
    solver = get_backend(backend).compile(model.indexed)
    ix = model.indexed
    first = {0: 0}
    found = solver.find_solution(first)
    expected = brute_force_domains(model, {ix.names[0]: ix.domains[0][0]})
    if found is None:
        assert all(not values for values in expected.values())
    else:
        config = {ix.names[i]: ix.domains[i][k] for i, k in enumerate(found)}
        assert found[0] == 0
        assert not model.violated(config)


def test_unknown_backend_names_the_known_ones() -> None:
    with pytest.raises(BackendError, match="python-constraint"):
        get_backend("cplex")
    with pytest.raises(LookupError):
        Configurator(ProductModel("m", ()), "z3")


def test_fast_backends_agree_on_a_renault_small_replay(renault: dict) -> None:
    """A sold configuration replayed choice by choice: sat and bdd give the same domains.

    (Each is checked against brute force on random models above; python-constraint
    needs minutes per step here, so it is compared at the root only, below.)
    """
    model = renault["small"]
    sat = get_backend("sat").compile(model.indexed)
    bdd = get_backend("bdd").compile(model.indexed)
    row = {"v1": 1, "v2": 3, "v3": 0, "v4": 1, "v5": 1, "v6": 0, "v7": 0, "v8": 0, "v9": 1}
    choices: dict[str, object] = {}
    for name, value in row.items():
        choices[name] = value
        got = _domains(sat, model, choices)
        assert got == _domains(bdd, model, choices)
        assert all(got.values()), "a sold configuration prefix must stay consistent"


def test_python_constraint_agrees_at_the_root_of_renault_small(renault: dict) -> None:
    model = renault["small"]
    expected = _domains(get_backend("sat").compile(model.indexed), model, {})
    assert _domains(get_backend("python-constraint").compile(model.indexed), model, {}) \
        == expected


def test_root_domains_hide_exactly_the_unsupported_values(renault: dict, megane: ProductModel
                                                          ) -> None:
    """The README's facts: 2 / 5 / 0 / 4 values are unsupported at the root."""
    expected = {"small": 2, "medium": 5, "big": 0}
    for size, hidden in expected.items():
        model = renault[size]
        session = Configurator(model).session()
        shown = sum(len(v) for v in session.valid_domains().values())
        assert sum(len(v.domain) for v in model.variables) - shown == hidden, size
    session = Configurator(megane).session()
    assert sum(len(v.domain) for v in megane.variables) \
        - sum(len(v) for v in session.valid_domains().values()) == 4


@settings(max_examples=30)
@given(model=table_models(), data=st.data())
def test_a_dumped_bdd_loads_back_with_the_same_answers(model: ProductModel,
                                                       data: st.DataObject) -> None:
    from configurator.backends.bdd import BddBackend

    backend = BddBackend()
    compiled = backend.compile(model.indexed)
    loaded = backend.load(model.indexed, backend.dump(compiled))
    choices = {}
    var = data.draw(st.sampled_from(model.variables))
    choices[var.name] = data.draw(st.sampled_from(var.domain))
    assert _domains(loaded, model, choices) == _domains(compiled, model, choices)
    assert _domains(loaded, model, {}) == brute_force_domains(model, {})


def test_a_dump_of_another_model_is_refused() -> None:
    from configurator.backends.bdd import BddBackend
    from configurator.model import Variable

    backend = BddBackend()
    one = ProductModel("one", (Variable("a", (0, 1, 2)),))
    two = ProductModel("two", (Variable("a", (0, 1)),))
    data = backend.dump(backend.compile(one.indexed))
    with pytest.raises(BackendError, match="another model"):
        backend.load(two.indexed, data)
    with pytest.raises(BackendError):
        backend.load(one.indexed, b"not a bdd")
