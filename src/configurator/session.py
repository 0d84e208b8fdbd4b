"""The interactive configuration session: choose, see what is still possible, ask why.

A :class:`Configurator` compiles one model for one backend (the one-off
cost); any number of :class:`ConfigurationSession` objects then share it.
After every choice the session holds the exact valid domains: a value shown
is part of some complete valid product, a value hidden is impossible, and
:meth:`ConfigurationSession.why_not` says why.

>>> from configurator.model import ProductModel, TableConstraint, Variable
>>> model = ProductModel("bike", (
...     Variable("frame", ("road", "mtb")), Variable("tyre", ("slick", "knobby")),
... ), (TableConstraint("c1", ("frame", "tyre"), (("road", "slick"), ("mtb", "knobby")),
...                     message="road frames take slicks, mountain frames knobby tyres"),))
>>> session = Configurator(model).session()
>>> session.choose("frame", "road")
>>> session.valid_domains()["tyre"]
('slick',)
>>> print(session.why_not("tyre", "knobby").describe())
tyre = knobby is not possible with frame = road:
  - [c1] road frames take slicks, mountain frames knobby tyres
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from configurator.backends import Solver, SolverBackend, get_backend
from configurator.completion import complete_at_minimum_cost, complete_with_defaults
from configurator.errors import (
    ConflictError,
    IncompleteConfigurationError,
    UnknownValueError,
    UnknownVariableError,
)
from configurator.explain import Choice, ConstraintRef, Explainer, Explanation, Restoration
from configurator.model import IndexedModel, ProductModel, Value, mask_values


class Configurator:
    """One model compiled for one backend; the factory of sessions.

    ``solver`` lets a shell pass a compiled form it loaded from a cache
    (e.g. :meth:`configurator.backends.bdd.BddBackend.load`). ``defaults``
    maps the index of each variable with a default to its value index.
    """

    def __init__(self, model: ProductModel, backend: str | SolverBackend = "sat", *,
                 solver: Solver | None = None) -> None:
        self.model = model
        self.backend = get_backend(backend) if isinstance(backend, str) else backend
        self.indexed: IndexedModel = model.indexed
        self.solver: Solver = solver if solver is not None else \
            self.backend.compile(self.indexed)
        self._explainer: Explainer | None = None
        self.defaults: dict[int, int] = {
            i: self.indexed.value_index[i][var.default]
            for i, var in enumerate(model.variables) if var.default is not None
        }

    @property
    def explainer(self) -> Explainer:
        """The selector-guarded SAT solver for explanations (built on first use)."""
        if self._explainer is None:
            self._explainer = Explainer(self.indexed)
        return self._explainer

    def session(self) -> ConfigurationSession:
        """A new, empty session on this compiled model."""
        return ConfigurationSession(self)

    # -- translation between names/values and indices ----------------------------------
    def to_index(self, variable: str, value: Value) -> tuple[int, int]:
        """(variable index, value index); raises for unknown names and values."""
        try:
            v = self.indexed.index[variable]
        except KeyError:
            self.model.variable(variable)  # raises with a suggestion
            raise UnknownVariableError(variable) from None
        try:
            return v, self.indexed.value_index[v][value]
        except (KeyError, TypeError):
            raise UnknownValueError(variable, value, self.indexed.domains[v]) from None

    def to_choice(self, v: int, k: int) -> Choice:
        """The user-facing pair for indices."""
        return Choice(self.indexed.names[v], self.indexed.domains[v][k])

    def constraint_ref(self, t: int) -> ConstraintRef:
        """The id and message of table ``t``."""
        con = self.model.constraints[t]
        return ConstraintRef(con.id, con.message)

    def explain(self, request: Mapping[int, int], choices: Mapping[int, int]
                ) -> Explanation | None:
        """A minimal conflict for ``request`` given ``choices`` (None: no conflict)."""
        found = self.explainer.conflict(request, choices)
        if found is None:
            return None
        chosen, tables = found
        return Explanation(
            request=tuple(self.to_choice(v, k) for v, k in request.items()),
            choices=tuple(self.to_choice(v, choices[v]) for v in sorted(
                chosen, key=list(choices).index)),
            constraints=tuple(self.constraint_ref(t) for t in tables))

    def validate(self, configuration: Mapping[str, Value]) -> ValidationResult:
        """Check a full or partial configuration against the whole model.

        Unknown variables and values are reported all at once (``problems``);
        otherwise a configuration that extends to no solution comes with a
        minimal explanation over its own pairs and the constraints.
        """
        problems: list[str] = []
        assignment: dict[int, int] = {}
        for name, value in configuration.items():
            try:
                v, k = self.to_index(name, value)
            except (UnknownVariableError, UnknownValueError) as exc:
                problems.append(str(exc))
                continue
            assignment[v] = k
        if problems:
            return ValidationResult(False, tuple(problems), None,
                                    len(assignment) == len(self.indexed.names))
        complete = len(assignment) == len(self.indexed.names)
        if self.explainer.is_consistent(assignment):
            return ValidationResult(True, (), None, complete)
        return ValidationResult(False, (), self.explain({}, assignment), complete)


@dataclass(frozen=True, slots=True)
class ValidationResult:
    """Whether a configuration is valid, and if not every reason.

    ``problems`` lists unknown variables/values (all of them); ``explanation``
    names a minimal conflicting set of the configuration's pairs and
    constraints; ``complete`` says whether every variable had a value.
    """

    valid: bool
    problems: tuple[str, ...] = ()
    explanation: Explanation | None = None
    complete: bool = False


@dataclass
class ConfigurationSession:
    """The state of one user's configuration: their choices, in order.

    Not thread-safe (it shares the compiled solver's caches); use one
    session per request or per user.
    """

    configurator: Configurator
    _choices: dict[int, int] = field(default_factory=dict, init=False)
    _domains: tuple[int, ...] | None = field(default=None, init=False)

    # -- state ---------------------------------------------------------------------------
    @property
    def choices(self) -> dict[str, Value]:
        """The user's choices in the order they were made."""
        to = self.configurator.to_choice
        return {c.variable: c.value for c in (to(v, k) for v, k in self._choices.items())}

    def _masks(self) -> tuple[int, ...]:
        if self._domains is None:
            self._domains = self.configurator.solver.valid_domains(dict(self._choices))
        return self._domains

    def choose(self, variable: str, value: Value) -> None:
        """Set ``variable`` to ``value`` (replacing an earlier choice of that variable).

        Raises :class:`ConflictError` carrying a minimal explanation when the
        value is not in the current valid domain; the session is unchanged.
        """
        v, k = self.configurator.to_index(variable, value)
        if self._choices.get(v) == k:
            return
        others = {u: w for u, w in self._choices.items() if u != v}
        if v in self._choices:   # replacing a choice: the valid domain is that without it
            masks = self.configurator.solver.valid_domains(others)
        else:
            masks = self._masks()
        if not masks[v] >> k & 1:
            explanation = self.configurator.explain({v: k}, others)
            if explanation is None:  # pragma: no cover - backends are exact
                explanation = Explanation((Choice(variable, value),), (), ())
            raise ConflictError(explanation.describe(), explanation)
        self._choices = {**others, v: k}
        self._domains = None

    def unchoose(self, variable: str) -> None:
        """Withdraw the choice of ``variable`` (a no-op if it was not chosen)."""
        v = self.configurator.indexed.index.get(variable)
        if v is None:
            self.configurator.model.variable(variable)  # raises with a suggestion
            return
        if v in self._choices:
            del self._choices[v]
            self._domains = None

    def reset(self) -> None:
        """Withdraw every choice."""
        self._choices = {}
        self._domains = None

    # -- queries -------------------------------------------------------------------------
    def valid_domains(self) -> dict[str, tuple[Value, ...]]:
        """Every variable's still-possible values, in domain order (exact, backtrack-free)."""
        ix = self.configurator.indexed
        return {name: tuple(ix.domains[v][k] for k in mask_values(mask))
                for v, (name, mask) in enumerate(zip(ix.names, self._masks(), strict=True))}

    def valid_values(self, variable: str) -> tuple[Value, ...]:
        """The still-possible values of one variable."""
        self.configurator.model.variable(variable)  # raises with a suggestion
        v = self.configurator.indexed.index[variable]
        return tuple(self.configurator.indexed.domains[v][k]
                     for k in mask_values(self._masks()[v]))

    def is_consistent(self) -> bool:
        """Whether the choices extend to a valid product (always true after ``choose``)."""
        return any(self._masks()) or not self._masks()

    def is_complete(self) -> bool:
        """Whether every variable has exactly one possible value left (chosen or forced)."""
        return all(m and m & (m - 1) == 0 for m in self._masks())

    def why_not(self, variable: str, value: Value) -> Explanation | None:
        """Why ``value`` is hidden for ``variable``; None if it is still possible.

        Works for any value: one excluded by earlier choices (they appear in
        the explanation) or impossible in the whole model (constraints only).
        """
        v, k = self.configurator.to_index(variable, value)
        others = {u: w for u, w in self._choices.items() if u != v}
        masks = self._masks() if v not in self._choices else \
            self.configurator.solver.valid_domains(others)
        if masks[v] >> k & 1:
            return None
        return self.configurator.explain({v: k}, others)

    def restoration(self, variable: str, value: Value) -> Restoration:
        """The fewest earlier choices to undo so ``variable = value`` becomes possible."""
        cfg = self.configurator
        v, k = cfg.to_index(variable, value)
        others = {u: w for u, w in self._choices.items() if u != v}
        undo = cfg.explainer.restoration({v: k}, others)
        request = (Choice(variable, value),)
        if undo is None:
            return Restoration(request, (), possible=False)
        return Restoration(request, tuple(cfg.to_choice(u, others[u]) for u in undo))

    def complete(self, cost: Mapping[str, Mapping[Value, int | Decimal]] | None = None
                 ) -> dict[str, Value]:
        """A full valid configuration extending the choices.

        Without ``cost``: defaults are taken in model order wherever still
        possible (else the first possible value). With ``cost`` (a cost per
        variable value, e.g. option prices; absent means 0): the total is
        minimised exactly, defaults breaking ties. Raises
        :class:`IncompleteConfigurationError` only if the choices have no
        completion, which a session built by ``choose`` never reaches.
        """
        cfg = self.configurator
        if cost is None:
            found = complete_with_defaults(cfg.solver, cfg.indexed.sizes, self._choices,
                                           cfg.defaults)
        else:
            costs = {}
            for name, per_value in cost.items():
                for value, amount in per_value.items():
                    if isinstance(amount, float):
                        raise TypeError(f"cost of {name}={value!r} is a float; use Decimal")
                    costs[cfg.to_index(name, value)] = amount
            found = complete_at_minimum_cost(cfg.indexed, self._choices, costs, cfg.defaults)
        if found is None:
            raise IncompleteConfigurationError("the choices have no valid completion")
        ix = cfg.indexed
        return {name: ix.domains[v][k] for v, (name, k) in enumerate(
            zip(ix.names, found, strict=True))}

    def validate(self, configuration: Mapping[str, Value]) -> ValidationResult:
        """Check a full configuration (all variables required) against the model."""
        result = self.configurator.validate(configuration)
        if result.valid and not result.complete:
            missing = [n for n in self.configurator.indexed.names if n not in configuration]
            shown = ", ".join(missing[:10]) + (", …" if len(missing) > 10 else "")
            return ValidationResult(False, (f"no value for {len(missing)} variable(s): "
                                            f"{shown}",), None, False)
        return result
