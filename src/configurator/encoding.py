"""CNF encoding of an indexed table model, shared by the SAT backend and the explainer.

Direct encoding: one Boolean per (variable, value), exactly one true per
variable. Allowed binary tables become support clauses
(``x=a → y ∈ supports(a)``); wider allowed tables are encoded through their
MDD (one Boolean per diagram node, short clauses; see :func:`_encode_mdd`).
Forbidden tuples are single clauses.

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
        top = _encode_mdd(table.tuples, scope, model.sizes, base, guard, clauses, top)
    return Encoding(tuple(clauses), tuple(base), tuple(sel), top)


def _encode_mdd(rows: tuple[tuple[int, ...], ...], scope: tuple[int, ...],
                sizes: tuple[int, ...], base: list[int], guard: tuple[int, ...],
                clauses: list[tuple[int, ...]], top: int) -> int:
    """Encode a wide allowed table through its multi-valued decision diagram.

    The rows are merged into a trie whose equal suffixes are shared (an MDD
    over the scope in order); each node gets one Boolean, "the path is here".
    A node with value ``k`` of its layer's variable must continue to the child
    on edge ``k`` (a ternary clause) and cannot take a value without an edge
    (a binary clause). Short clauses and one Boolean per *node* instead of per
    row keep the CNF small and propagation fast on tables of many rows.
    """
    arity = len(scope)
    memo: dict[tuple[int, tuple[tuple[int, int], ...]], int] = {}
    nodes: list[tuple[int, tuple[tuple[int, int], ...]]] = []

    def build(layer: int, subset: list[tuple[int, ...]]) -> int:
        if layer == arity:
            return -1                      # the accepting terminal
        groups: dict[int, list[tuple[int, ...]]] = {}
        for row in subset:
            groups.setdefault(row[layer], []).append(row)
        edges = tuple(sorted((k, build(layer + 1, group)) for k, group in groups.items()))
        key = (layer, edges)
        found = memo.get(key)
        if found is None:
            found = memo[key] = len(nodes)
            nodes.append(key)
        return found

    root = build(0, list(rows))
    first = top + 1
    top += len(nodes)
    clauses.append((*guard, first + root))
    for n, (layer, edges) in enumerate(nodes):
        here = first + n
        v = scope[layer]
        children = dict(edges)
        for k in range(sizes[v]):
            child = children.get(k)
            if child is None:
                clauses.append((-here, -(base[v] + k)))
            elif child >= 0:
                clauses.append((-here, -(base[v] + k), first + child))
    return top


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
