"""Generalized arc consistency on table constraints, with bitsets.

Each allowed table keeps, for every position and value, the bitset (a Python
int) of the rows holding that value there; the live rows are the AND over
positions of the OR of their values' bitsets, and a value keeps its place
only if its bitset meets the live rows. Python's big integers make each of
these one C-level operation, which is what makes GAC affordable on tables of
tens of thousands of rows. Forbidden tables prune a value only once every
other position of a forbidden row is fixed to that row (they are rare and
small in configuration models; the SAT stage makes the answer exact anyway).

GAC alone is not complete (a value can survive it and still have no
solution): the backends use it to prune, and confirm what remains by search.
"""

from __future__ import annotations

from collections.abc import Mapping

from configurator.model import IndexedModel, mask_values


class TablePropagator:
    """GAC to a fixpoint over every table of one model; reusable, no per-call state."""

    def __init__(self, model: IndexedModel) -> None:
        self._full = model.full_masks()
        self._scopes: list[tuple[int, ...]] = []
        self._supports: list[list[list[int]]] = []   # table → position → value → row bitset
        self._all_rows: list[int] = []
        self._forbidden: list[tuple[tuple[int, ...], ...] | None] = []
        self.tables_of: list[list[int]] = [[] for _ in model.names]
        for t, table in enumerate(model.tables):
            self._scopes.append(table.scope)
            for v in table.scope:
                self.tables_of[v].append(t)
            if table.allowed:
                sup = [[0] * len(model.domains[v]) for v in table.scope]
                for r, row in enumerate(table.tuples):
                    bit = 1 << r
                    for p, k in enumerate(row):
                        sup[p][k] |= bit
                self._supports.append(sup)
                self._all_rows.append((1 << len(table.tuples)) - 1)
                self._forbidden.append(None)
            else:
                self._supports.append([])
                self._all_rows.append(0)
                self._forbidden.append(table.tuples)

    @property
    def scopes(self) -> list[tuple[int, ...]]:
        """Each table's scope (variable indices)."""
        return self._scopes

    @property
    def supports(self) -> list[list[list[int]]]:
        """Table → position → value → bitset of the rows with that value there."""
        return self._supports

    @property
    def all_rows(self) -> list[int]:
        """Each allowed table's bitset of all rows (0 for forbidden tables)."""
        return self._all_rows

    def propagate(self, domains: list[int], changed: Mapping[int, None] | None = None
                  ) -> bool:
        """Prune ``domains`` (bitmasks, updated in place) to GAC; False on a wipe-out.

        ``changed`` names the variables whose domains changed since the last
        fixpoint (``None``: revise every table).
        """
        if changed is None:
            queue = dict.fromkeys(range(len(self._scopes)))
        else:
            queue = {}
            for v in changed:
                queue.update(dict.fromkeys(self.tables_of[v]))
        full = self._full
        while queue:
            t = next(iter(queue))
            del queue[t]
            scope = self._scopes[t]
            forbidden = self._forbidden[t]
            if forbidden is not None:
                pruned = self._revise_forbidden(scope, forbidden, domains)
                if pruned is None:
                    return False
            else:
                sup = self._supports[t]
                live = self._all_rows[t]
                for p, v in enumerate(scope):
                    dm = domains[v]
                    if dm == full[v]:
                        continue
                    acc = 0
                    row_sets = sup[p]
                    for k in mask_values(dm):
                        acc |= row_sets[k]
                    live &= acc
                    if not live:
                        return False
                pruned = []
                for p, v in enumerate(scope):
                    dm = domains[v]
                    row_sets = sup[p]
                    new = 0
                    for k in mask_values(dm):
                        if row_sets[k] & live:
                            new |= 1 << k
                    if new != dm:
                        if not new:
                            return False
                        domains[v] = new
                        pruned.append(v)
            for v in pruned:
                for other in self.tables_of[v]:
                    if other != t:
                        queue[other] = None
        return True

    @staticmethod
    def _revise_forbidden(scope: tuple[int, ...], rows: tuple[tuple[int, ...], ...],
                          domains: list[int]) -> list[int] | None:
        pruned: list[int] = []
        for row in rows:
            open_positions = [p for p, (v, k) in enumerate(zip(scope, row, strict=True))
                              if domains[v] != 1 << k]
            if not open_positions:
                if all(domains[v] >> k & 1 for v, k in zip(scope, row, strict=True)):
                    return None
            elif len(open_positions) == 1:
                p = open_positions[0]
                v, k = scope[p], row[p]
                if domains[v] >> k & 1 and all(
                        domains[scope[q]] == 1 << row[q] for q in range(len(scope)) if q != p):
                    domains[v] &= ~(1 << k)
                    if not domains[v]:
                        return None
                    pruned.append(v)
        return pruned
