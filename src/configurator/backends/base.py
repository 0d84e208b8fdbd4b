"""The solver-backend Protocol and the registry of backend names.

A backend compiles an :class:`~configurator.model.IndexedModel` once into a
:class:`Solver`; the session then asks it, after every choice, for the valid
domains under the current assignment. Assignments and answers are in indices
(variable index → value index; one bitmask of valid value indices per
variable), so backends never touch names or user values.

Contract every backend honours (checked by one parametrised test):
``valid_domains`` is exact — a value is in the answer iff some full solution
extends the assignment with it — and every mask is 0 when the assignment has
no solution; ``find_solution`` returns a solution extending the assignment or
None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from configurator.model import IndexedModel

#: variable index → value index
Assignment = Mapping[int, int]


@runtime_checkable
class Solver(Protocol):
    """A model compiled by one backend (may keep caches; never shared state)."""

    def valid_domains(self, assignment: Assignment) -> tuple[int, ...]:
        """One bitmask per variable: the values that extend ``assignment`` to a solution."""
        ...

    def find_solution(self, assignment: Assignment) -> tuple[int, ...] | None:
        """A full solution (one value index per variable) extending ``assignment``, or None."""
        ...


class SolverBackend(Protocol):
    """Compiles models; registered under a stable ``name`` (see :func:`get_backend`)."""

    name: str

    def compile(self, model: IndexedModel) -> Solver:
        """Build the solver once per model; may be slow (BDD), never per choice."""
        ...
