"""Completing a partial configuration: by defaults, or at minimum cost.

Two contracts, because they answer different questions:

* :func:`complete_with_defaults` walks the variables in model order; each
  one not yet fixed takes its default if that is still possible, otherwise
  its first possible value. Because it re-reads the exact valid domains after
  every step it never backtracks and always ends in a valid configuration.
* :func:`complete_at_minimum_cost` minimises an additive cost (a cost per
  variable value, e.g. the option prices) exactly with MaxSAT (RC2); among
  equally cheap completions it keeps as many defaults as possible.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from pysat.examples.rc2 import RC2
from pysat.formula import WCNF

from configurator.backends.base import Assignment, Solver
from configurator.encoding import encode
from configurator.model import IndexedModel, mask_values


def complete_with_defaults(solver: Solver, sizes: tuple[int, ...], assignment: Assignment,
                           defaults: Mapping[int, int]) -> tuple[int, ...] | None:
    """A full solution extending ``assignment``, taking defaults in order where possible."""
    current = dict(assignment)
    domains = solver.valid_domains(current)
    if not any(domains) and sizes:
        return None
    for v in range(len(sizes)):
        if v in current:
            continue
        mask = domains[v]
        if mask & (mask - 1) == 0:      # forced (or already determined)
            current[v] = mask_values(mask)[0]
            continue
        preferred = defaults.get(v)
        current[v] = preferred if preferred is not None and mask >> preferred & 1 \
            else mask_values(mask)[0]
        domains = solver.valid_domains(current)
    return tuple(current[v] for v in range(len(sizes)))


def complete_at_minimum_cost(model: IndexedModel, assignment: Assignment,
                             costs: Mapping[tuple[int, int], int | Decimal],
                             defaults: Mapping[int, int]) -> tuple[int, ...] | None:
    """The cheapest full solution extending ``assignment`` (None if there is none).

    ``costs`` maps (variable, value index) to a non-negative integer or
    Decimal; Decimals are scaled to integers exactly (by the largest number of
    decimal places), never rounded through floats.
    """
    enc = encode(model)
    wcnf = WCNF()
    for clause in enc.clauses:
        wcnf.append(list(clause))
    for v, k in assignment.items():
        wcnf.append([enc.lit(v, k)])
    places = max((-Decimal(c).as_tuple().exponent for c in costs.values()  # type: ignore[operator]
                  if isinstance(c, Decimal)), default=0)
    places = max(places, 0)
    scale = 10 ** places
    scaled = {key: int(Decimal(c) * scale) for key, c in costs.items()}
    if any(c < 0 for c in scaled.values()):
        raise ValueError("costs must be non-negative")
    tie = len(defaults) + 1     # one unit of cost outweighs every default
    for (v, k), c in scaled.items():
        if c:
            wcnf.append([-enc.lit(v, k)], weight=c * tie)
    for v, k in defaults.items():
        if v not in assignment:
            wcnf.append([enc.lit(v, k)], weight=1)
    with RC2(wcnf) as rc2:
        found = rc2.compute()
    if found is None:
        return None
    full = [0] * (enc.top + 1)
    for lit in found:
        if abs(lit) <= enc.top:
            full[abs(lit) - 1] = lit
    return enc.decode(full, model.sizes)
