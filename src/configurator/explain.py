"""Explanations: why a value is impossible, and what to undo to make it possible.

A conflict is a *minimal* set of earlier choices and constraints that,
together with the request, has no solution: drop any one member and the rest
is satisfiable. It is computed with QuickXplain (Junker, AAAI 2004) over the
unsatisfiable core a selector-guarded SAT encoding returns, so QuickXplain
only ever splits a handful of items. A restoration is a *smallest* set of
earlier choices to undo so the request becomes possible (a minimum-cardinality
correction set), found by implicit hitting sets: hit every conflict found so
far with the fewest choices (a tiny MaxSAT problem), test, learn a new
conflict, repeat.

Explanations are independent of the backend used for valid domains: they
need to switch single constraints off, which a compiled BDD cannot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pysat.examples.rc2 import RC2
from pysat.formula import WCNF
from pysat.solvers import Glucose4

from configurator.encoding import encode
from configurator.model import IndexedModel, Value


@dataclass(frozen=True, slots=True)
class Choice:
    """One variable = value pair, as the user sees it."""

    variable: str
    value: Value

    def __str__(self) -> str:
        return f"{self.variable} = {self.value}"


@dataclass(frozen=True, slots=True)
class ConstraintRef:
    """A constraint named in an explanation, with its message for users."""

    id: str
    message: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why ``request`` is impossible: these earlier choices and constraints exclude it.

    Minimal: without any single member the request would be possible. An
    explanation with no choices means the request is impossible in every
    configuration of the model.
    """

    request: tuple[Choice, ...]
    choices: tuple[Choice, ...]
    constraints: tuple[ConstraintRef, ...]

    def describe(self) -> str:
        """A short text for users: what was asked, what conflicts, and the rules' messages."""
        asked = " and ".join(str(c) for c in self.request) or "this configuration"
        lines = [f"{asked} is not possible"]
        if self.choices:
            lines[0] += " with " + ", ".join(str(c) for c in self.choices)
        lines[0] += ":"
        lines.extend(f"  - [{c.id}] {c.message}" for c in self.constraints)
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Restoration:
    """The fewest earlier choices to undo so that ``request`` becomes possible.

    ``possible`` is False when no undoing helps (the request is impossible in
    every configuration); ``undo`` is then empty.
    """

    request: tuple[Choice, ...]
    undo: tuple[Choice, ...]
    possible: bool = True


class Explainer:
    """Selector-guarded CNF of one model in one persistent SAT solver.

    Items are choices (positive literals) and constraints (selector literals);
    :meth:`conflict` and :meth:`restoration` work on value indices, the
    session translates to and from names.
    """

    def __init__(self, model: IndexedModel) -> None:
        self._model = model
        self._enc = encode(model, selectors=True)
        self._sat = Glucose4(bootstrap_with=self._enc.clauses)
        self._all_selectors = list(self._enc.selectors)
        self._table_of_selector = {s: t for t, s in enumerate(self._enc.selectors)}
        self.checks = 0  # consistency checks made (for tests and the benchmark)

    def _consistent(self, assumptions: Sequence[int]) -> bool:
        self.checks += 1
        return bool(self._sat.solve(assumptions=list(assumptions)))

    def is_consistent(self, assignment: Mapping[int, int]) -> bool:
        """Whether ``assignment`` extends to a solution of the whole model."""
        lit = self._enc.lit
        return self._consistent([lit(v, k) for v, k in assignment.items()]
                                + self._all_selectors)

    def conflict(self, request: Mapping[int, int], choices: Mapping[int, int]
                 ) -> tuple[list[int], list[int]] | None:
        """A minimal (choices, tables) subset that excludes ``request``; None if it is possible.

        Returned as variable indices of ``choices`` and table indices. Choices
        that contradict the request directly (same variable, other value) are
        left out: the caller replaces them, it does not conflict with them.
        """
        lit = self._enc.lit
        background = [lit(v, k) for v, k in request.items()]
        choice_lits = {lit(v, k): v for v, k in choices.items() if v not in request}
        items = list(choice_lits) + self._all_selectors
        if self._consistent(background + items):
            return None
        core = set(self._sat.get_core() or items)
        ordered = [x for x in items if x in core]
        minimal = self._quickxplain(background, ordered)
        chosen = [choice_lits[x] for x in minimal if x in choice_lits]
        tables = sorted(self._table_of_selector[x] for x in minimal
                        if x in self._table_of_selector)
        return chosen, tables

    def _quickxplain(self, background: list[int], items: list[int]) -> list[int]:
        if not items:
            return []
        return self._qx(background, False, items)

    def _qx(self, background: list[int], has_delta: bool, items: list[int]) -> list[int]:
        if has_delta and not self._consistent(background):
            return []
        if len(items) == 1:
            return items
        half = len(items) // 2
        first, second = items[:half], items[half:]
        delta2 = self._qx(background + first, bool(first), second)
        delta1 = self._qx(background + delta2, bool(delta2), first)
        return delta1 + delta2

    def restoration(self, request: Mapping[int, int], choices: Mapping[int, int]
                    ) -> list[int] | None:
        """The fewest variables of ``choices`` to undo so ``request`` is possible.

        None when even undoing every choice does not help. Choices on the
        requested variables are undone by the request itself and not counted.
        """
        lit = self._enc.lit
        background = [lit(v, k) for v, k in request.items()] + self._all_selectors
        kept = {lit(v, k): v for v, k in choices.items() if v not in request}
        if not self._consistent(background):
            return None
        cores: list[list[int]] = []
        while True:
            undo = _minimum_hitting_set(cores)
            assumptions = background + [x for x in kept if x not in undo]
            if self._consistent(assumptions):
                return sorted(kept[x] for x in undo)
            core = [x for x in (self._sat.get_core() or kept) if x in kept and x not in undo]
            if not core:   # pragma: no cover - background alone was consistent
                return None
            cores.append(core)

    def close(self) -> None:
        """Free the native SAT solver."""
        self._sat.delete()


def _minimum_hitting_set(cores: list[list[int]]) -> set[int]:
    """The smallest set of literals meeting every core (exact, via a tiny MaxSAT)."""
    if not cores:
        return set()
    universe = sorted({x for core in cores for x in core})
    number = {x: i + 1 for i, x in enumerate(universe)}
    wcnf = WCNF()
    for core in cores:
        wcnf.append([number[x] for x in core])
    for x in universe:
        wcnf.append([-number[x]], weight=1)
    with RC2(wcnf) as rc2:
        model = rc2.compute() or []
    return {universe[n - 1] for n in model if n > 0}
