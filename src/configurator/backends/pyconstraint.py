"""The general baseline: python-constraint (``python-constraint2``), one search per value.

Valid domains are computed the textbook way: for every variable and every
value not yet seen in a solution, ask the backtracking solver for a solution
with that value fixed; each solution found confirms all the values it
contains (solution caching is the only optimisation, to keep the baseline
honest rather than strawman-slow). It handles any table model exactly but
takes seconds per step on the larger Renault models; the benchmark reports
the fast backends as a ratio against it.
"""

from __future__ import annotations

from collections.abc import Callable

from constraint import FunctionConstraint, Problem

from configurator.backends.base import Assignment
from configurator.model import IndexedModel, mask_values


def _table_check(rows: frozenset[tuple[int, ...]], allowed: bool) -> Callable[..., bool]:
    if allowed:
        return lambda *values: values in rows
    return lambda *values: values not in rows


class PythonConstraintSolver:
    """One python-constraint ``Problem`` built per query (its API has no incremental mode)."""

    def __init__(self, model: IndexedModel) -> None:
        self._sizes = model.sizes
        self._n = len(self._sizes)
        self._tables = [(t.scope, _table_check(frozenset(t.tuples), t.allowed))
                        for t in model.tables]

    def _solve(self, domains: list[list[int]]) -> tuple[int, ...] | None:
        problem = Problem()
        for v, dom in enumerate(domains):
            problem.addVariable(v, dom)
        for scope, check in self._tables:
            problem.addConstraint(FunctionConstraint(check), list(scope))
        found = problem.getSolution()
        if not found:
            return None
        return tuple(found[v] for v in range(self._n))

    def _domains(self, assignment: Assignment) -> list[list[int]]:
        return [[assignment[v]] if v in assignment else list(range(size))
                for v, size in enumerate(self._sizes)]

    def valid_domains(self, assignment: Assignment) -> tuple[int, ...]:
        """Exact valid domains by one search per unconfirmed value."""
        base = self._domains(assignment)
        confirmed = [0] * self._n
        for v in range(self._n):
            for k in mask_values((1 << len(base[v])) - 1) if v not in assignment else [0]:
                value = base[v][k]
                if confirmed[v] >> value & 1:
                    continue
                domains = list(base)
                domains[v] = [value]
                solution = self._solve(domains)
                if solution is None:
                    if v in assignment:    # the assignment itself has no solution
                        return (0,) * self._n
                    continue
                for u, w in enumerate(solution):
                    confirmed[u] |= 1 << w
        return tuple(confirmed)

    def find_solution(self, assignment: Assignment) -> tuple[int, ...] | None:
        """Any solution extending ``assignment``."""
        return self._solve(self._domains(assignment))


class PythonConstraintBackend:
    """Registered as ``"python-constraint"``."""

    name = "python-constraint"

    def compile(self, model: IndexedModel) -> PythonConstraintSolver:
        """Nothing to compile: keep the tables as membership tests."""
        return PythonConstraintSolver(model)
