"""Solver backends behind one Protocol, by stable name.

``"sat"`` (GAC + incremental SAT) is the default: exact, fast, no load time.
``"bdd"`` compiles the model into a binary decision diagram with CUDD, slower
to load but answering each step with one traversal. ``"python-constraint"``
is the general baseline the benchmark compares against.
"""

from __future__ import annotations

from configurator.backends.base import Assignment, Solver, SolverBackend
from configurator.errors import BackendError

BACKEND_NAMES: tuple[str, ...] = ("sat", "bdd", "python-constraint")


def get_backend(name: str) -> SolverBackend:
    """The backend registered as ``name`` (imported on demand; nothing built at import).

    >>> get_backend("sat").name
    'sat'
    """
    if name == "sat":
        from configurator.backends.sat import SatBackend
        return SatBackend()
    if name == "bdd":
        from configurator.backends.bdd import BddBackend
        return BddBackend()
    if name == "python-constraint":
        from configurator.backends.pyconstraint import PythonConstraintBackend
        return PythonConstraintBackend()
    raise BackendError(f"unknown solver backend {name!r}; expected one of {BACKEND_NAMES}")


__all__ = ["BACKEND_NAMES", "Assignment", "Solver", "SolverBackend", "get_backend"]
