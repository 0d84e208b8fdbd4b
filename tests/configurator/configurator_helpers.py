"""Strategies and oracles shared by the configurator tests.

``table_models`` draws small random table models; every backend must agree
with brute-force enumeration (``brute_force_domains``) on them.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import strategies as st

from configurator import ProductModel, TableConstraint, TableKind, Variable

BENCH = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "configurator"
BR4CP = BENCH / "renault_br4cp"
MEGANE = BENCH / "renault_megane_clib"


def need_data(path: Path) -> None:
    """Skip the calling test when the shared benchmark data is not checked out next to the repo."""
    if not path.exists():
        pytest.skip(f"benchmark data not found at {path} (the ../shared checkout is absent)")


@st.composite
def table_models(draw: st.DrawFn, max_variables: int = 5, max_domain: int = 3,
                 max_constraints: int = 4) -> ProductModel:
    """A small random model: 1–5 variables, domains of 1–3 values, random tables.

    Tables are drawn as subsets of the scope's product, allowed or forbidden,
    so models range from loose to unsatisfiable.
    """
    n = draw(st.integers(1, max_variables))
    variables = []
    for i in range(n):
        size = draw(st.integers(1, max_domain))
        domain = tuple(f"x{i}v{k}" if draw(st.booleans()) else k for k in range(size))
        default = draw(st.sampled_from((None, *domain)))
        variables.append(Variable(f"x{i}", domain, default=default))
    constraints = []
    for c in range(draw(st.integers(0, max_constraints))):
        arity = draw(st.integers(1, min(3, n)))
        scope = draw(st.permutations(range(n)))[:arity]
        product = list(itertools.product(*(variables[v].domain for v in scope)))
        rows = draw(st.lists(st.sampled_from(product), unique=True, max_size=len(product)))
        kind = draw(st.sampled_from(TableKind))
        constraints.append(TableConstraint(f"c{c}", tuple(variables[v].name for v in scope),
                                           tuple(rows), kind, message=f"rule {c}"))
    return ProductModel("random", tuple(variables), tuple(constraints))


def brute_force_solutions(model: ProductModel) -> list[dict[str, object]]:
    """Every full solution, by enumerating the whole product (the oracle)."""
    names = [v.name for v in model.variables]
    out = []
    for combo in itertools.product(*(v.domain for v in model.variables)):
        config = dict(zip(names, combo, strict=True))
        if not model.violated(config):
            out.append(config)
    return out


def brute_force_domains(model: ProductModel, choices: Mapping[str, object]
                        ) -> dict[str, set[object]]:
    """The values each variable takes in some solution extending ``choices``."""
    domains: dict[str, set[object]] = {v.name: set() for v in model.variables}
    for solution in brute_force_solutions(model):
        if all(solution[k] == v for k, v in choices.items()):
            for k, v in solution.items():
                domains[k].add(v)
    return domains
