"""CNF encoding of an indexed table model, shared by the SAT backend and the explainer.

Direct encoding: one Boolean per (variable, value), exactly one true per
variable. Allowed binary tables become support clauses
(``x=a → y ∈ supports(a)``); wider allowed tables get one Boolean per tuple
with the support encoding on every position, so unit propagation on the CNF
enforces arc consistency on the table. Forbidden tuples are single clauses.

With ``selectors=True`` every constraint's clauses carry a negated selector
literal: assuming the selector switches the constraint on, and an
unsatisfiable core over selectors and choice literals names exactly the
constraints and choices that conflict.
"""

from __future__ import annotations

from dataclasses import dataclass

from configurator.model import IndexedModel


@dataclass(frozen=True, slots=True)
class Encoding:
    """A CNF plus the literal maps needed to read models and build assumptions."""

    clauses: tuple[tuple[int, ...], ...]
    base: tuple[int, ...]             # literal of (i, k) is base[i] + k
    selectors: tuple[int, ...]        # selector literal per table (empty without selectors)
    top: int                          # highest variable number used

    def lit(self, variable: int, value: int) -> int:
        """The literal meaning "variable ``variable`` takes value index ``value``"."""
        return self.base[variable] + value

    def decode(self, model: list[int] | tuple[int, ...], sizes: tuple[int, ...]) -> tuple[int, ...]:
        """The value index of every variable in a SAT model.

        ``model`` is pysat's model list, where entry ``n - 1`` is ``±n``.
        """
        out = []
        for i, size in enumerate(sizes):
            b = self.base[i] - 1
            for k in range(size):
                if model[b + k] > 0:
                    out.append(k)
                    break
            else:  # pragma: no cover - exactly-one clauses forbid it
                out.append(0)
        return tuple(out)


def encode(model: IndexedModel, *, selectors: bool = False) -> Encoding:
    """Encode ``model`` as CNF (see the module docstring for the scheme)."""
    clauses: list[tuple[int, ...]] = []
    base = []
    top = 0
    for size in model.sizes:
        base.append(top + 1)
        top += size
    for i, size in enumerate(model.sizes):
        lits = [base[i] + k for k in range(size)]
        clauses.append(tuple(lits))
        top = _at_most_one(lits, clauses, top)
    sel: list[int] = []
    for table in model.tables:
        guard: tuple[int, ...] = ()
        if selectors:
            top += 1
            sel.append(top)
            guard = (-top,)
        scope = table.scope
        if not table.allowed:
            for row in table.tuples:
                clauses.append(guard + tuple(-(base[v] + k) for v, k in zip(scope, row,
                                                                              strict=True)))
            continue
        if not table.tuples:
            clauses.append(guard if guard else ())
            continue
        if len(scope) == 1:
            allowed = {row[0] for row in table.tuples}
            v = scope[0]
            for k in range(model.sizes[v]):
                if k not in allowed:
                    clauses.append((*guard, -(base[v] + k)))
            continue
        if len(scope) == 2:
            a, b = scope
            for src, dst, pa, pb in ((a, b, 0, 1), (b, a, 1, 0)):
                supports: dict[int, list[int]] = {}
                for row in table.tuples:
                    supports.setdefault(row[pa], []).append(row[pb])
                for k in range(model.sizes[src]):
                    clauses.append((*guard, -(base[src] + k),
                                    *(base[dst] + w for w in sorted(set(supports.get(k, ()))))))
            continue
        first = top + 1
        top += len(table.tuples)
        by_position: list[dict[int, list[int]]] = [{} for _ in scope]
        for t, row in enumerate(table.tuples):
            y = first + t
            for p, (v, k) in enumerate(zip(scope, row, strict=True)):
                clauses.append((-y, base[v] + k))
                by_position[p].setdefault(k, []).append(y)
        for p, v in enumerate(scope):
            for k in range(model.sizes[v]):
                clauses.append((*guard, -(base[v] + k), *by_position[p].get(k, ())))
    return Encoding(tuple(clauses), tuple(base), tuple(sel), top)


def _at_most_one(lits: list[int], clauses: list[tuple[int, ...]], top: int) -> int:
    """Pairwise for short lists, a sequential counter (linear size) for long ones."""
    n = len(lits)
    if n <= 6:
        for x in range(n):
            for y in range(x + 1, n):
                clauses.append((-lits[x], -lits[y]))
        return top
    s = list(range(top + 1, top + n))  # s[j]: some of lits[0..j] is true
    clauses.append((-lits[0], s[0]))
    for j in range(1, n - 1):
        clauses.append((-lits[j], s[j]))
        clauses.append((-s[j - 1], s[j]))
        clauses.append((-lits[j], -s[j - 1]))
    clauses.append((-lits[n - 1], -s[n - 2]))
    return top + n - 1
