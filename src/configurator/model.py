"""The product model every configurator feature works on.

A product model is a finite constraint network: variables with finite,
ordered domains (enumerated options, attribute values on a range and step,
quantities, "not applicable" markers) and table constraints (allowed or
forbidden combinations), each with an id and a message for users. Every
source format — the XCSP 2.1 and CLib benchmark files, and the rule-language
``product_model`` ruleset kind — is compiled into this one form, so the solver
backends, the session and the explanations only ever see tables.

The model is an immutable value; :func:`index_model` turns it once into the
integer-indexed form the backends compile, so hot loops never touch names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cached_property
from types import MappingProxyType

from configurator.errors import ModelError, UnknownValueError, UnknownVariableError

#: A value in a domain. Never a float: attribute values are exact.
Value = bool | int | str | Decimal


class VariableKind(StrEnum):
    """What a variable stands for; it changes how front ends show it, not how it is solved."""

    OPTION = "option"          # an enumerated choice (engine, colour)
    INTEGER = "integer"        # an integer attribute on a range with a step
    DECIMAL = "decimal"        # a decimal attribute on a range with a step
    QUANTITY = "quantity"      # how many of a component (cardinality)
    DERIVED = "derived"        # computed from others by a formula; never chosen directly
    AUXILIARY = "auxiliary"    # a helper of an imported encoding (e.g. BR4CP `vN_k_Serie`)


class TableKind(StrEnum):
    """Whether a table lists the allowed or the forbidden combinations of its scope."""

    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"


@dataclass(frozen=True, slots=True)
class Variable:
    """A variable with a finite domain, in display order.

    ``default`` is a soft preference (used by ``complete()`` when the user has
    not chosen); ``not_applicable`` names the domain value that means "this
    option is absent" (BR4CP's joker ``-1``, an unused component slot).
    """

    name: str
    domain: tuple[Value, ...]
    label: str = ""
    kind: VariableKind = VariableKind.OPTION
    value_labels: Mapping[Value, str] = field(default_factory=lambda: MappingProxyType({}))
    default: Value | None = None
    not_applicable: Value | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ModelError("a variable needs a name")
        if not self.domain:
            raise ModelError(f"variable {self.name!r} has an empty domain")
        if len(set(self.domain)) != len(self.domain):
            raise ModelError(f"variable {self.name!r} lists a value twice: {self.domain!r}")
        for value in self.domain:
            if isinstance(value, float):
                raise ModelError(f"variable {self.name!r}: float value {value!r}; use Decimal")
        for extra, what in ((self.default, "default"), (self.not_applicable, "not_applicable")):
            if extra is not None and extra not in self.domain:
                raise ModelError(
                    f"variable {self.name!r}: {what} {extra!r} is not in its domain"
                )

    def label_of(self, value: Value) -> str:
        """The user-facing label of ``value`` (its text when no label is given)."""
        return self.value_labels.get(value, str(value))

    def parse(self, text: str) -> Value:
        """The domain value whose text is ``text`` (for CLIs and CSV files).

        >>> Variable("v1", (0, 1, -1)).parse("-1")
        -1
        """
        for value in self.domain:
            if str(value) == text or (isinstance(value, bool) and str(value).lower() == text):
                return value
        raise UnknownValueError(self.name, text, self.domain)


@dataclass(frozen=True)
class TableConstraint:
    """Allowed (or forbidden) combinations of values of ``scope``.

    Tuples that use a value outside a domain are legal in an allowed table
    (real catalogues keep rows for retired options) and simply never match.
    """

    id: str
    scope: tuple[str, ...]
    tuples: tuple[tuple[Value, ...], ...]
    kind: TableKind = TableKind.ALLOWED
    message: str = ""

    def __post_init__(self) -> None:
        if not self.scope:
            raise ModelError(f"constraint {self.id!r} has an empty scope")
        if len(set(self.scope)) != len(self.scope):
            raise ModelError(f"constraint {self.id!r} names a variable twice: {self.scope!r}")
        arity = len(self.scope)
        for row in self.tuples:
            if len(row) != arity:
                raise ModelError(
                    f"constraint {self.id!r}: tuple {row!r} has {len(row)} values, "
                    f"expected {arity} for scope {self.scope!r}"
                )

    def allows(self, values: tuple[Value, ...]) -> bool:
        """Whether this constraint accepts the values of its scope, in scope order."""
        inside = values in self._tuple_set
        return inside if self.kind is TableKind.ALLOWED else not inside

    @cached_property
    def _tuple_set(self) -> frozenset[tuple[Value, ...]]:
        return frozenset(self.tuples)


@dataclass(frozen=True)
class ProductModel:
    """A named, immutable product model: variables and table constraints.

    >>> m = ProductModel("demo", (Variable("a", (0, 1)), Variable("b", (0, 1))),
    ...                  (TableConstraint("c1", ("a", "b"), ((0, 1), (1, 0))),))
    >>> m.variable("b").domain
    (0, 1)
    """

    name: str
    variables: tuple[Variable, ...]
    constraints: tuple[TableConstraint, ...] = ()
    description: str = ""

    def __post_init__(self) -> None:
        names: set[str] = set()
        for var in self.variables:
            if var.name in names:
                raise ModelError(f"model {self.name!r}: variable {var.name!r} declared twice")
            names.add(var.name)
        ids: set[str] = set()
        for con in self.constraints:
            if con.id in ids:
                raise ModelError(f"model {self.name!r}: constraint id {con.id!r} used twice")
            ids.add(con.id)
            for name in con.scope:
                if name not in names:
                    raise ModelError(
                        f"model {self.name!r}: constraint {con.id!r} reads unknown variable "
                        f"{name!r}{_did_you_mean(name, names)}"
                    )

    @cached_property
    def _by_name(self) -> dict[str, Variable]:
        return {v.name: v for v in self.variables}

    @cached_property
    def _constraints_by_id(self) -> dict[str, TableConstraint]:
        return {c.id: c for c in self.constraints}

    def variable(self, name: str) -> Variable:
        """The variable called ``name``; raises :class:`UnknownVariableError` with a suggestion."""
        try:
            return self._by_name[name]
        except KeyError:
            close = difflib.get_close_matches(name, list(self._by_name), n=1)
            raise UnknownVariableError(name, close[0] if close else None) from None

    def constraint(self, constraint_id: str) -> TableConstraint:
        """The constraint with id ``constraint_id``."""
        try:
            return self._constraints_by_id[constraint_id]
        except KeyError:
            raise UnknownVariableError(constraint_id) from None

    def check_value(self, name: str, value: Value) -> Variable:
        """The variable, after checking ``value`` is in its domain (raises otherwise)."""
        var = self.variable(name)
        if value not in self.indexed.value_index[self.indexed.index[name]]:
            raise UnknownValueError(name, value, var.domain)
        return var

    @cached_property
    def indexed(self) -> IndexedModel:
        """The integer-indexed form the backends compile (built once, on first use)."""
        return index_model(self)

    def violated(self, configuration: Mapping[str, Value]) -> tuple[TableConstraint, ...]:
        """Every constraint whose whole scope is assigned in ``configuration`` and that it breaks."""
        out = []
        for con in self.constraints:
            if all(name in configuration for name in con.scope) and not con.allows(
                tuple(configuration[name] for name in con.scope)
            ):
                out.append(con)
        return tuple(out)


def _did_you_mean(name: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(names), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True, slots=True)
class IndexedTable:
    """A table over variable indices and value indices; rows outside the domains dropped."""

    id: str
    scope: tuple[int, ...]
    tuples: tuple[tuple[int, ...], ...]
    allowed: bool


@dataclass(frozen=True, slots=True)
class IndexedModel:
    """Variables and values as dense integers: what the backends compile.

    ``value_index[i][value]`` is the position of ``value`` in variable ``i``'s
    domain; a value set is a bitmask (bit ``k`` = the ``k``-th domain value).
    """

    names: tuple[str, ...]
    index: Mapping[str, int]
    domains: tuple[tuple[Value, ...], ...]
    value_index: tuple[Mapping[Value, int], ...]
    tables: tuple[IndexedTable, ...]

    @property
    def sizes(self) -> tuple[int, ...]:
        """The domain size of each variable."""
        return tuple(len(d) for d in self.domains)

    def full_masks(self) -> tuple[int, ...]:
        """The bitmask of every value of each variable."""
        return tuple((1 << len(d)) - 1 for d in self.domains)


def index_model(model: ProductModel) -> IndexedModel:
    """Translate ``model`` to integers once; tuples outside the domains are dropped.

    Allowed rows are deduplicated (a repeated row adds nothing); the order of
    the remaining rows is kept so compiled forms are reproducible.
    """
    names = tuple(v.name for v in model.variables)
    index = {n: i for i, n in enumerate(names)}
    domains = tuple(v.domain for v in model.variables)
    value_index = tuple({val: k for k, val in enumerate(d)} for d in domains)
    tables = []
    for con in model.constraints:
        scope = tuple(index[n] for n in con.scope)
        maps = [value_index[i] for i in scope]
        rows: dict[tuple[int, ...], None] = {}
        for row in con.tuples:
            try:
                rows[tuple(m[v] for m, v in zip(maps, row, strict=True))] = None
            except KeyError:
                continue
        tables.append(
            IndexedTable(con.id, scope, tuple(rows), con.kind is TableKind.ALLOWED)
        )
    return IndexedModel(names, MappingProxyType(index), domains, value_index, tuple(tables))


def mask_values(mask: int) -> list[int]:
    """The value indices set in ``mask``, ascending.

    >>> mask_values(0b1011)
    [0, 1, 3]
    """
    out = []
    k = 0
    while mask:
        if mask & 1:
            out.append(k)
        mask >>= 1
        k += 1
    return out
