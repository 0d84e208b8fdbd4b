"""GAC + incremental SAT backend (python-sat, Glucose 4): exact, with near-zero load time.

Valid domains after an assignment are found in three stages, each cheaper
than the next is expensive:

1. GAC on the tables (bitsets) prunes values that have no support; it starts
   from the cached fixpoint of the longest earlier assignment contained in
   this one, so a new choice only revises the tables it touches.
2. Solutions found earlier (kept in a bounded cache, indexed per value by
   bitsets) confirm every value they contain, if they extend the assignment;
   each new solution is also "flipped" one variable at a time to confirm
   neighbouring values without search.
3. One persistent incremental SAT solver answers "is there a solution using
   any still-unconfirmed value?" (a clause guarded by a fresh activation
   literal, phases biased towards those values); each model confirms more
   values, and the first UNSAT answer proves the rest impossible.
"""

from __future__ import annotations

from collections import OrderedDict

from pysat.solvers import Glucose4

from configurator.backends.base import Assignment
from configurator.encoding import encode
from configurator.model import IndexedModel, mask_values
from configurator.propagation import TablePropagator

_GAC_STATES = 64         # cached GAC fixpoints (one per recent assignment)
_SOLUTIONS = 4096        # cached solutions
_REPAIR_BUDGET = 24      # tables one repair may mend


class SatSolver:
    """The compiled form for one model (see the module docstring)."""

    def __init__(self, model: IndexedModel) -> None:
        self._sizes = model.sizes
        self._full = model.full_masks()
        self._n = len(self._sizes)
        self._gac = TablePropagator(model)
        self._enc = encode(model)
        self._sat = Glucose4(bootstrap_with=self._enc.clauses)
        self._top = self._enc.top
        root = list(self._full)
        self._root_ok = self._gac.propagate(root)
        self._states: OrderedDict[frozenset[tuple[int, int]], tuple[int, ...] | None] = \
            OrderedDict()
        self._states[frozenset()] = tuple(root) if self._root_ok else None
        self._solutions: list[tuple[int, ...]] = []
        self._value_bits: list[list[int]] = [[0] * s for s in self._sizes]
        self._table_tuples = [table.tuples for table in model.tables]
        self._table_rows = [frozenset(t.tuples) if t.allowed else None for t in model.tables]
        self._forbidden_rows = [frozenset() if t.allowed else frozenset(t.tuples)
                                for t in model.tables]
        self._checks: list[list[tuple[tuple[int, ...], frozenset[tuple[int, ...]] | None,
                                      frozenset[tuple[int, ...]]]]] = [[] for _ in self._sizes]
        for table in model.tables:
            rows = frozenset(table.tuples)
            entry = (table.scope, rows if table.allowed else None,
                     frozenset() if table.allowed else rows)
            for v in table.scope:
                self._checks[v].append(entry)

    # -- stage 1 ------------------------------------------------------------------------
    def _propagated(self, assignment: Assignment) -> tuple[int, ...] | None:
        key = frozenset(assignment.items())
        if key in self._states:
            self._states.move_to_end(key)
            return self._states[key]
        best: frozenset[tuple[int, int]] = frozenset()
        for known in self._states:
            if len(known) > len(best) and known <= key:
                best = known
        start = self._states[best]
        if start is None:
            result = None
        else:
            domains = list(start)
            changed: dict[int, None] = {}
            ok = True
            for v, k in assignment.items():
                if (v, k) in best:
                    continue
                if not domains[v] >> k & 1:
                    ok = False
                    break
                if domains[v] != 1 << k:
                    domains[v] = 1 << k
                    changed[v] = None
            if ok and changed:
                ok = self._gac.propagate(domains, changed)
            result = tuple(domains) if ok else None
        self._states[key] = result
        if len(self._states) > _GAC_STATES:
            for old in self._states:
                if old:   # keep the root state for ever
                    del self._states[old]
                    break
        return result

    # -- stage 2 ------------------------------------------------------------------------
    def _remember(self, solution: tuple[int, ...]) -> None:
        if len(self._solutions) >= _SOLUTIONS:   # drop the oldest: rebuild the index
            self._solutions = self._solutions[_SOLUTIONS // 2:]
            self._value_bits = [[0] * s for s in self._sizes]
            for j, sol in enumerate(self._solutions):
                bit = 1 << j
                for v, k in enumerate(sol):
                    self._value_bits[v][k] |= bit
        bit = 1 << len(self._solutions)
        self._solutions.append(solution)
        for v, k in enumerate(solution):
            self._value_bits[v][k] |= bit

    def _flip_ok(self, solution: tuple[int, ...], v: int, k: int) -> bool:
        for scope, allowed, forbidden in self._checks[v]:
            row = tuple(k if u == v else solution[u] for u in scope)
            if allowed is not None:
                if row not in allowed:
                    return False
            elif row in forbidden:
                return False
        return True

    def _repair(self, solution: tuple[int, ...], v: int, k: int, assignment: Assignment
                ) -> tuple[int, ...] | None:
        """Set ``v = k`` in a solution and mend the tables that breaks, greedily.

        Each broken allowed table takes the row that keeps every locked value
        (the assignment, ``v``, and values already changed) and as many current
        ones as possible; the tables of changed variables are then rechecked.
        Bounded by :data:`_REPAIR_BUDGET` mends; None when it gives up.
        """
        gac = self._gac
        values = list(solution)
        values[v] = k
        locked = set(assignment)
        locked.add(v)
        queue = dict.fromkeys(gac.tables_of[v])
        budget = _REPAIR_BUDGET
        while queue:
            t = next(iter(queue))
            del queue[t]
            scope = gac.scopes[t]
            rows = self._table_rows[t]
            current = tuple(values[u] for u in scope)
            if rows is None:     # forbidden table: no mending
                if current in self._forbidden_rows[t]:
                    return None
                continue
            if current in rows:
                continue
            budget -= 1
            if budget < 0:
                return None
            sup = gac.supports[t]
            live = gac.all_rows[t]
            for p, u in enumerate(scope):
                if u in locked:
                    live &= sup[p][values[u]]
                    if not live:
                        return None
            for p, u in enumerate(scope):
                if u not in locked:
                    kept = live & sup[p][values[u]]
                    if kept:
                        live = kept
            row = self._table_tuples[t][(live & -live).bit_length() - 1]
            for p, u in enumerate(scope):
                if values[u] != row[p]:
                    values[u] = row[p]
                    locked.add(u)
                    queue.update(dict.fromkeys(gac.tables_of[u]))
        return tuple(values)

    def _confirm(self, solution: tuple[int, ...], confirmed: list[int],
                 candidates: tuple[int, ...], assignment: Assignment,
                 tried: set[tuple[int, int]]) -> None:
        """Confirm the values of ``solution`` and of its one-flip and repaired neighbours."""
        for v, k in enumerate(solution):
            confirmed[v] |= 1 << k
        for v in range(self._n):
            if v in assignment:
                continue
            open_values = candidates[v] & ~confirmed[v]
            if not open_values:
                continue
            for k in mask_values(open_values):
                if confirmed[v] >> k & 1:
                    continue
                if self._flip_ok(solution, v, k):
                    neighbour: tuple[int, ...] | None = (*solution[:v], k, *solution[v + 1:])
                elif (v, k) not in tried:
                    tried.add((v, k))
                    neighbour = self._repair(solution, v, k, assignment)
                else:
                    neighbour = None
                if neighbour is not None:
                    self._remember(neighbour)
                    for u, w in enumerate(neighbour):
                        confirmed[u] |= 1 << w

    # -- stage 3 ------------------------------------------------------------------------
    def _solve(self, assumptions: list[int], wanted: list[int]) -> tuple[int, ...] | None:
        self._top += 1
        act = self._top
        self._sat.add_clause([-act, *wanted])
        self._sat.set_phases(wanted)
        ok = self._sat.solve(assumptions=[*assumptions, act])
        model = self._sat.get_model() if ok else None
        self._sat.add_clause([-act])
        if model is None:
            return None
        return self._enc.decode(model, self._sizes)

    def valid_domains(self, assignment: Assignment) -> tuple[int, ...]:
        """Exact valid domains (see the module docstring)."""
        candidates = self._propagated(assignment)
        if candidates is None:
            return (0,) * self._n
        compatible = (1 << len(self._solutions)) - 1
        for v, k in assignment.items():
            compatible &= self._value_bits[v][k]
            if not compatible:
                break
        confirmed = [0] * self._n
        if compatible:
            for v in range(self._n):
                bits = self._value_bits[v]
                mask = 0
                for k in mask_values(candidates[v]):
                    if bits[k] & compatible:
                        mask |= 1 << k
                confirmed[v] = mask
        lit = self._enc.lit
        assumptions = [lit(v, k) for v, k in assignment.items()]
        assumptions += [lit(v, mask_values(m)[0]) for v, m in enumerate(candidates)
                        if v not in assignment and m & (m - 1) == 0]
        tried: set[tuple[int, int]] = set()
        if compatible:   # mend the most recent compatible cached solution first
            latest = self._solutions[compatible.bit_length() - 1]
            self._confirm(latest, confirmed, candidates, assignment, tried)
        while True:
            wanted = [lit(v, k) for v in range(self._n)
                      for k in mask_values(candidates[v] & ~confirmed[v])]
            if not wanted:
                break
            solution = self._solve(assumptions, wanted)
            if solution is None:
                break
            self._remember(solution)
            self._confirm(solution, confirmed, candidates, assignment, tried)
        return tuple(confirmed)

    def find_solution(self, assignment: Assignment) -> tuple[int, ...] | None:
        """Any solution extending ``assignment`` (None if there is none)."""
        if self._propagated(assignment) is None:
            return None
        lit = self._enc.lit
        ok = self._sat.solve(assumptions=[lit(v, k) for v, k in assignment.items()])
        if not ok:
            return None
        return self._enc.decode(self._sat.get_model(), self._sizes)

    def close(self) -> None:
        """Free the native SAT solver now rather than at garbage collection."""
        self._sat.delete()


class SatBackend:
    """Registered as ``"sat"``."""

    name = "sat"

    def compile(self, model: IndexedModel) -> SatSolver:
        """Encode to CNF and load it into one persistent Glucose 4 instance."""
        return SatSolver(model)
