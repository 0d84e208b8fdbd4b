"""The ``product_model`` ruleset kind: product models written by rule authors.

A product model file declares enumerated options (with labels), integer and
decimal attributes on a range with a step, quantities, optional components
with a cardinality (0..n copies of a small sub-model), derived attributes
(formulas), and constraints in the rule language — each with an id and a
message for users. Compilation turns all of it into the one finite form the
solvers understand (:class:`~configurator.model.ProductModel`: variables and
tables):

* a rule-language constraint becomes the table of the combinations of the
  variables it reads that satisfy it, found by evaluating its compiled
  callable over the product of their domains (exact: no floats, no bounds
  approximation). The product is capped (:data:`MAX_TABLE_PRODUCT`). A
  rule over more combinations whose atoms are option comparisons and sums
  over component copies (resource balances such as ``sum(slot.power) <=
  psu.watts``) is compiled through its exact sympy form instead, each sum
  becoming a derived variable built by a chain of partial sums; any other
  oversized rule is a located load error suggesting narrower ranges or
  coarser steps;
* a component ``ram`` with cardinality ``min..max`` becomes a quantity
  variable ``ram.count`` and, per copy ``i``, variables ``ram[i].field``
  whose extra value ``"n/a"`` means "copy absent", linked to the count. Rules
  read the present copies as a list: ``count(ram)``, ``sum(ram.power)``;
* a derived attribute becomes a variable whose domain is the formula's image,
  tied to its inputs by the formula's graph, so it can be read by rules and
  shown, but never needs choosing.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

import sympy
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from configurator.errors import ConfiguratorError
from configurator.model import (
    ProductModel,
    TableConstraint,
    TableKind,
    Value,
    Variable,
    VariableKind,
)
from rule_language import (
    BOOLEAN,
    DECIMAL,
    INTEGER,
    CompileContext,
    CompiledExpression,
    EvaluationError,
    Schema,
    Type,
    enum,
    list_of,
    record,
    suggest,
)
from rule_language import RulesetHeader as _Header

#: The largest product of domain sizes a single rule may read (its table is built by
#: enumeration; 250,000 combinations take about a second).
MAX_TABLE_PRODUCT = 250_000
#: The most values an attribute range may have.
MAX_DOMAIN = 10_000
#: The value of a component copy's fields when the copy is absent.
ABSENT = "n/a"

Scalar = bool | int | Decimal | str


# -- the file, as pydantic models -------------------------------------------------------
class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ValueSpec(_Spec):
    """One enumerated value with its user-facing label."""

    value: str
    label: str | None = None


class OptionSpec(_Spec):
    """An enumerated option: its values (plain or with labels), default, "not applicable"."""

    label: str | None = None
    values: list[ValueSpec] = Field(min_length=1)
    default: str | None = None
    not_applicable: str | None = None

    @field_validator("values", mode="before")
    @classmethod
    def _plain_values(cls, values: Any) -> Any:
        if not isinstance(values, list):
            return values
        return [{"value": _text(v)} if not isinstance(v, dict) else v for v in values]

    @field_validator("default", "not_applicable", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        return None if value is None else _text(value)

    @model_validator(mode="after")
    def _known_extras(self) -> OptionSpec:
        names = [v.value for v in self.values]
        if len(set(names)) != len(names):
            raise ValueError(f"a value is listed twice: {names}")
        for what in ("default", "not_applicable"):
            chosen = getattr(self, what)
            if chosen is not None and chosen not in names:
                raise ValueError(f"{what} {chosen!r} is not one of the values {names}")
        return self


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if isinstance(value, int | Decimal) else value


class AttributeSpec(_Spec):
    """A number on ``min..max`` by ``step`` (integer, decimal, or a quantity)."""

    type: Literal["integer", "decimal", "quantity"]
    label: str | None = None
    min: int | Decimal
    max: int | Decimal
    step: int | Decimal = 1
    default: int | Decimal | None = None
    unit: str | None = None

    @model_validator(mode="after")
    def _range(self) -> AttributeSpec:
        for name in ("min", "max", "step", "default"):
            value = getattr(self, name)
            if isinstance(value, bool | float):
                raise ValueError(f"{name} must be a number")
            if self.type != "decimal" and isinstance(value, Decimal) and value != int(value):
                raise ValueError(f"{name} {value} is not an integer ({self.type} attribute)")
        if self.step <= 0:
            raise ValueError("step must be positive")
        if self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        count = (Decimal(self.max) - Decimal(self.min)) / Decimal(self.step)
        if count != int(count):
            raise ValueError(f"max {self.max} is not min {self.min} plus a whole number of steps")
        if int(count) + 1 > MAX_DOMAIN:
            raise ValueError(f"{int(count) + 1} values; at most {MAX_DOMAIN} (use a coarser step)")
        if self.default is not None and self.default not in self.domain():
            raise ValueError(f"default {self.default} is not on the range's steps")
        return self

    def domain(self) -> tuple[Value, ...]:
        """Every value of the range, exact (Decimals keep the step's places)."""
        low, step = Decimal(self.min), Decimal(self.step)
        count = int((Decimal(self.max) - low) / step) + 1
        values = [low + step * i for i in range(count)]
        if self.type == "decimal":
            places = min(Decimal(x).as_tuple().exponent for x in (self.min, self.step))
            quantum = Decimal(1).scaleb(places)  # type: ignore[arg-type]
            return tuple(v.quantize(quantum) for v in values)
        return tuple(int(v) for v in values)


class TableSpec(_Spec):
    """A compatibility table: the columns (variables) and the rows; ``*`` matches any value."""

    columns: list[str] = Field(min_length=1)
    rows: list[list[Scalar]]


class ConstraintSpec(_Spec):
    """One constraint, in exactly one of its forms, with an id and a message."""

    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    message: str
    rule: str | None = None
    if_: str | None = Field(default=None, alias="if")
    then: str | None = None
    else_: str | None = Field(default=None, alias="else")
    requires: list[str] | None = Field(default=None, min_length=2, max_length=2)
    excludes: list[str] | None = Field(default=None, min_length=2)
    allowed: TableSpec | None = None
    forbidden: TableSpec | None = None

    @model_validator(mode="after")
    def _one_form(self) -> ConstraintSpec:
        forms = [name for name, value in (("rule", self.rule), ("if", self.if_),
                                          ("requires", self.requires),
                                          ("excludes", self.excludes),
                                          ("allowed", self.allowed),
                                          ("forbidden", self.forbidden)) if value is not None]
        if len(forms) != 1:
            raise ValueError("a constraint has exactly one of rule, if/then, requires, excludes, "
                             f"allowed, forbidden; found {forms or 'none'}")
        if (self.if_ is None) != (self.then is None):
            raise ValueError("`if` needs `then` (and `then` needs `if`)")
        if self.else_ is not None and self.if_ is None:
            raise ValueError("`else` needs `if`")
        return self


class ComponentSpec(_Spec):
    """An optional, repeatable component: ``min..max`` copies of a small sub-model."""

    label: str | None = None
    min: int = Field(default=0, ge=0)
    max: int = Field(ge=1, le=32)
    default: int | None = None
    options: dict[str, OptionSpec] = Field(default_factory=dict)
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    constraints: list[ConstraintSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cardinality(self) -> ComponentSpec:
        if self.max < self.min:
            raise ValueError(f"max {self.max} is below min {self.min}")
        if self.default is not None and not self.min <= self.default <= self.max:
            raise ValueError(f"default {self.default} is outside {self.min}..{self.max}")
        if not self.options and not self.attributes:
            raise ValueError("a component needs at least one option or attribute")
        return self


class DerivedSpec(_Spec):
    """A derived attribute: a formula over the others, computed, never chosen."""

    type: Literal["integer", "decimal"]
    formula: str
    label: str | None = None
    unit: str | None = None


class ProductModelFile(_Header):
    """A ``kind: product_model`` ruleset file."""

    kind: Literal["product_model"]
    label: str | None = None
    options: dict[str, OptionSpec] = Field(default_factory=dict)
    attributes: dict[str, AttributeSpec] = Field(default_factory=dict)
    components: dict[str, ComponentSpec] = Field(default_factory=dict)
    derived: dict[str, DerivedSpec] = Field(default_factory=dict)
    constraints: list[ConstraintSpec] = Field(default_factory=list)


# -- compilation -----------------------------------------------------------------------
@dataclass(frozen=True)
class _Component:
    name: str
    count: str                        # the quantity variable
    fields: tuple[str, ...]
    slots: tuple[Mapping[str, str], ...]  # copy i → field → variable name


class _Builder:
    """Accumulates variables and tables while reporting located problems to ``ctx``."""

    def __init__(self, spec: ProductModelFile, ctx: CompileContext) -> None:
        self.spec = spec
        self.ctx = ctx
        self.variables: dict[str, Variable] = {}
        self.tables: list[TableConstraint] = []
        self.plain: dict[str, str] = {}            # schema path → variable (top level)
        self.components: dict[str, _Component] = {}
        self.types: dict[str, Type] = {}

    # variables ------------------------------------------------------------------------
    def add_option(self, name: str, spec: OptionSpec, *, extra: tuple[str, ...] = (),
                   default: bool = True) -> Variable:
        labels = {v.value: v.label for v in spec.values if v.label is not None}
        var = Variable(name, (*(v.value for v in spec.values), *extra), label=spec.label or "",
                       value_labels=MappingProxyType(labels),
                       default=spec.default if default else None,
                       not_applicable=ABSENT if extra else spec.not_applicable)
        self.variables[name] = var
        return var

    def add_attribute(self, name: str, spec: AttributeSpec, *, extra: tuple[str, ...] = (),
                      default: bool = True) -> Variable:
        kind = {"integer": VariableKind.INTEGER, "decimal": VariableKind.DECIMAL,
                "quantity": VariableKind.QUANTITY}[spec.type]
        var = Variable(name, (*spec.domain(), *extra), label=spec.label or "", kind=kind,
                       default=spec.default if default else None,
                       not_applicable=ABSENT if extra else None)
        self.variables[name] = var
        return var

    def declare(self) -> None:
        for name, option in self.spec.options.items():
            self.add_option(name, option)
            self.plain[name] = name
            self.types[name] = enum(*(v.value for v in option.values))
        for name, attribute in self.spec.attributes.items():
            self.add_attribute(name, attribute)
            self.plain[name] = name
            self.types[name] = DECIMAL if attribute.type == "decimal" else INTEGER
        for cname, comp in self.spec.components.items():
            self.declare_component(cname, comp)

    def declare_component(self, cname: str, comp: ComponentSpec) -> None:
        count = f"{cname}.count"
        self.variables[count] = Variable(
            count, tuple(range(comp.min, comp.max + 1)), label=comp.label or cname,
            kind=VariableKind.QUANTITY, default=comp.default)
        fields: dict[str, Type] = {}
        slots = []
        for i in range(1, comp.max + 1):
            slot: dict[str, str] = {}
            for fname, option in comp.options.items():
                var = self.add_option(f"{cname}[{i}].{fname}", option, extra=(ABSENT,))
                slot[fname] = var.name
                fields[fname] = enum(*(v.value for v in option.values))
            for fname, attribute in comp.attributes.items():
                var = self.add_attribute(f"{cname}[{i}].{fname}", attribute, extra=(ABSENT,))
                slot[fname] = var.name
                fields[fname] = DECIMAL if attribute.type == "decimal" else INTEGER
            slots.append(MappingProxyType(slot))
            # copy i is present iff count >= i: its fields are n/a exactly when absent
            for fname, vname in slot.items():
                rows = [(c, v) for c in range(comp.min, comp.max + 1)
                        for v in self.variables[vname].domain if (c >= i) == (v != ABSENT)]
                self.tables.append(TableConstraint(
                    f"{cname}[{i}].{fname}.present", (count, vname), tuple(rows),
                    message=f"{cname} copy {i} has a {fname} exactly when there are at "
                            f"least {i} {cname}"))
        self.components[cname] = _Component(cname, count, tuple(fields), tuple(slots))
        self.types[cname] = list_of(record(fields))

    # expressions ----------------------------------------------------------------------
    def schema(self) -> Schema:
        return Schema.of(dict(self.types))

    def variables_of(self, expr: CompiledExpression) -> list[str]:
        """The solver variables an expression reads, in a stable order."""
        return self.variables_of_symbols(expr.symbols)

    def variables_of_symbols(self, symbols: frozenset[str]) -> list[str]:
        """The solver variables behind rule-language symbols (a component list: its copies)."""
        out: dict[str, None] = {}
        for symbol in sorted(symbols):
            if symbol in self.plain:
                out[self.plain[symbol]] = None
                continue
            head = symbol.split(".", 1)[0]
            comp = self.components.get(head)
            if comp is None:   # pragma: no cover - the schema rejected it
                raise ConfiguratorError(f"unknown symbol {symbol}")
            out[comp.count] = None
            if "." not in symbol:   # the bare list: only its length (count) is readable
                continue
            field = symbol.split(".", 1)[1]
            for slot in comp.slots:
                if field in slot:
                    out[slot[field]] = None
        return list(out)

    def environment(self, names: Sequence[str]) -> Callable[[Sequence[Value]], dict[str, Any]]:
        """A function from values of ``names`` to the nested env rules read."""
        plain = [(i, n.split(".")) for i, n in enumerate(names) if n in self.plain]
        comps = []
        for comp in self.components.values():
            if comp.count not in names:
                continue
            count_at = names.index(comp.count)
            slots = [[(f, names.index(v)) for f, v in slot.items() if v in names]
                     for slot in comp.slots]
            comps.append((comp.name, count_at, slots))

        def build(values: Sequence[Value]) -> dict[str, Any]:
            env: dict[str, Any] = {}
            for i, parts in plain:
                node = env
                for part in parts[:-1]:
                    node = node.setdefault(part, {})
                node[parts[-1]] = values[i]
            for cname, count_at, slots in comps:
                n = values[count_at]
                env[cname] = [{f: values[j] for f, j in slot} for slot in slots[:n]]  # type: ignore[misc]
            return env
        return build

    def size(self, names: Sequence[str]) -> int:
        size = 1
        for name in names:
            size *= len(self.variables[name].domain)
        return size

    def product(self, names: Sequence[str], path: tuple[str | int, ...]) -> int | None:
        size = self.size(names)
        if size > MAX_TABLE_PRODUCT:
            self.ctx.error(path, f"this constraint reads {len(names)} variables with "
                                 f"{size:,} combinations; at most {MAX_TABLE_PRODUCT:,} can "
                                 "be compiled into a table",
                           hint="narrow the attribute ranges or coarsen their steps, or split "
                                "the constraint")
            return None
        return size

    def rule_table(self, cid: str, message: str, expr: CompiledExpression,
                   path: tuple[str | int, ...], *, per_slot: _Component | None = None,
                   slot: int = 0) -> None:
        names = self.variables_of(expr) if per_slot is None else \
            self.slot_variables(expr, per_slot, slot)
        if not names:
            value = _truth(expr.fn, {})
            if not value:
                self.ctx.error(path, "this constraint reads no option and is always false")
            return
        if per_slot is None and self.size(names) > MAX_TABLE_PRODUCT and \
                self.decomposed(cid, message, expr, path):
            return
        if self.product(names, path) is None:
            return
        env_of = self.environment(names) if per_slot is None else \
            self.slot_environment(names, per_slot, slot)
        domains = [self.variables[n].domain for n in names]
        rows = []
        for combo in itertools.product(*domains):
            if per_slot is not None and combo[0] < slot:   # copy absent: nothing to check
                rows.append(combo)
                continue
            if _truth(expr.fn, env_of(combo)):
                rows.append(combo)
        if not rows:
            self.ctx.error(path, f"constraint {cid} can never be satisfied")
            return
        self.tables.append(TableConstraint(cid, tuple(names), tuple(rows), TableKind.ALLOWED,
                                           message))

    # resource balances: sums over component copies ---------------------------------------
    def sum_variable(self, comp: _Component, field: str) -> str:
        """A derived variable equal to ``sum(comp.field)``, via a chain of partial sums.

        Partial sum ``i`` adds copy ``i``'s field (0 when the copy is absent) to
        partial sum ``i - 1``; each link is a small ternary table, so a balance
        over many copies never needs the product of all their domains.
        """
        final = f"sum({comp.name}.{field})"
        if final in self.variables:
            return final
        previous: str | None = None
        for i, slot in enumerate(comp.slots, start=1):
            name = final if i == len(comp.slots) else f"{final}[..{i}]"
            field_var = slot[field]
            values = self.variables[field_var].domain
            rows: list[tuple[Value, ...]] = []
            if previous is None:
                rows = [(x, 0 if x == ABSENT else x) for x in values]
                scope: tuple[str, ...] = (field_var, name)
            else:
                rows = [(p, x, p + (0 if x == ABSENT else x))  # type: ignore[operator]
                        for p in self.variables[previous].domain for x in values]
                scope = (previous, field_var, name)
            image = sorted({row[-1] for row in rows})  # type: ignore[type-var]
            self.variables[name] = Variable(name, tuple(image), kind=VariableKind.DERIVED,
                                            label=f"sum of {comp.name}.{field}")
            self.tables.append(TableConstraint(
                f"{name}.sum", scope, tuple(rows),
                message=f"{name} adds up {field} over the {comp.name} copies"))
            previous = name
        return final

    def decomposed(self, cid: str, message: str, expr: CompiledExpression,
                   path: tuple[str | int, ...]) -> bool:
        """Compile a rule too wide for one table through its exact sympy form.

        Applies when every atom of the rule is an option comparison or a
        ``sum(component.field)``: each sum becomes one derived variable
        (:meth:`sum_variable`), and the rule's table is built over the sums and
        the plain variables by substituting values into ``expr.sympy`` (exact
        rationals, never floats). Returns False when the rule has another shape.
        """
        sums: dict[Any, str] = {}
        booleans: dict[Any, tuple[str, Any]] = {}
        for symbol, atom in expr.atoms.items():
            root = atom.tree.root
            if atom.boolean and atom.path in self.plain:
                booleans[symbol] = (self.plain[atom.path], atom.value)
                continue
            args = getattr(root, "args", ())
            parts = getattr(args[0], "parts", ()) if len(args) == 1 else ()
            comp = self.components.get(parts[0]) if len(parts) == 2 else None
            if getattr(root, "name", None) == "sum" and comp is not None \
                    and parts[1] in comp.slots[0]:
                sums[symbol] = self.sum_variable(comp, parts[1])
                continue
            return False
        plain: dict[Any, str] = {}
        for symbol in expr.sympy.free_symbols:
            if symbol in expr.atoms:
                continue
            if symbol.name not in self.plain:
                return False
            plain[symbol] = self.plain[symbol.name]
        names = list(dict.fromkeys([*plain.values(), *(n for n, _ in booleans.values()),
                                    *sums.values()]))
        if self.product(names, path) is None:
            return True
        at = {n: i for i, n in enumerate(names)}
        rows = []
        for combo in itertools.product(*(self.variables[n].domain for n in names)):
            values: dict[Any, Any] = {}
            for symbol, name in (*plain.items(), *sums.items()):
                values[symbol] = _exact(combo[at[name]])
            for symbol, (name, value) in booleans.items():
                values[symbol] = sympy.true if combo[at[name]] == value else sympy.false
            if expr.sympy.subs(values) is sympy.true:
                rows.append(combo)
        if not rows:
            self.ctx.error(path, f"constraint {cid} can never be satisfied")
            return True
        self.tables.append(TableConstraint(cid, tuple(names), tuple(rows), TableKind.ALLOWED,
                                           message))
        return True

    # component-local rules ---------------------------------------------------------------
    def slot_schema(self, comp_name: str) -> Schema:
        spec = self.spec.components[comp_name]
        local: dict[str, Type] = dict(self.types)
        for fname, option in spec.options.items():
            local[fname] = enum(*(v.value for v in option.values))
        for fname, attribute in spec.attributes.items():
            local[fname] = DECIMAL if attribute.type == "decimal" else INTEGER
        return Schema.of(local)

    def slot_variables(self, expr: CompiledExpression, comp: _Component, slot: int) -> list[str]:
        names = [comp.count]
        for symbol in sorted(expr.symbols):
            if symbol in comp.slots[slot - 1]:
                names.append(comp.slots[slot - 1][symbol])
            else:
                for name in self.variables_of_symbols(frozenset({symbol})):
                    if name not in names:
                        names.append(name)
        return names

    def slot_environment(self, names: Sequence[str], comp: _Component, slot: int
                         ) -> Callable[[Sequence[Value]], dict[str, Any]]:
        local = {v: f for f, v in comp.slots[slot - 1].items()}
        others = [n for n in names[1:] if n not in local]
        outer = self.environment(others)
        at = {n: i for i, n in enumerate(names)}

        def build(values: Sequence[Value]) -> dict[str, Any]:
            env = outer([values[at[n]] for n in others])
            for vname, fname in local.items():
                if vname in at:
                    env[fname] = values[at[vname]]
            return env
        return build

    # constraints ------------------------------------------------------------------------
    def constraint(self, spec: ConstraintSpec, path: tuple[str | int, ...], schema: Schema,
                   *, comp: _Component | None = None) -> None:
        if spec.allowed is not None or spec.forbidden is not None:
            if comp is not None:
                self.ctx.error(path, "tables are written at the top level of the model")
                return
            self.table(spec, path)
            return
        text, where = _rule_text(spec)
        expr = self.ctx.expression(text, (*path, where), schema, expect=BOOLEAN)
        if expr is None:
            return
        if comp is None:
            self.rule_table(spec.id, spec.message, expr, path)
            return
        for slot in range(1, len(comp.slots) + 1):
            self.rule_table(f"{spec.id}[{slot}]", spec.message, expr, path, per_slot=comp,
                            slot=slot)

    def table(self, spec: ConstraintSpec, path: tuple[str | int, ...]) -> None:
        table = spec.allowed if spec.allowed is not None else spec.forbidden
        assert table is not None
        form = "allowed" if spec.allowed is not None else "forbidden"
        columns = []
        for c, column in enumerate(table.columns):
            if column not in self.plain:
                self.ctx.error((*path, form, "columns", c), f"unknown option `{column}`",
                               hint=suggest(column, list(self.plain)))
                continue
            columns.append(self.variables[column])
        if len(columns) != len(table.columns):
            return
        rows: list[tuple[Value, ...]] = []
        for r, row in enumerate(table.rows):
            if len(row) != len(columns):
                self.ctx.error((*path, form, "rows", r),
                               f"{len(row)} cells for {len(columns)} columns")
                continue
            cells: list[tuple[Value, ...]] = []
            for c, (cell, var) in enumerate(zip(row, columns, strict=True)):
                if cell == "*":
                    cells.append(var.domain)
                    continue
                value = _match(var, cell)
                if value is None:
                    self.ctx.error((*path, form, "rows", r, c),
                                   f"{cell!r} is not a value of `{var.name}`",
                                   hint="values: " + ", ".join(map(str, var.domain[:12])))
                    break
                cells.append((value,))
            else:
                rows.extend(itertools.product(*cells))
        kind = TableKind.ALLOWED if form == "allowed" else TableKind.FORBIDDEN
        self.tables.append(TableConstraint(spec.id, tuple(table.columns), tuple(rows), kind,
                                           spec.message))

    def derived(self, name: str, spec: DerivedSpec, schema: Schema) -> Schema:
        path = ("derived", name)
        expr = self.ctx.expression(spec.formula, (*path, "formula"), schema,
                                   expect=DECIMAL if spec.type == "decimal" else INTEGER)
        if expr is None:
            return schema
        names = self.variables_of(expr)
        if self.product(names, path) is None:
            return schema
        env_of = self.environment(names)
        graph: list[tuple[Value, ...]] = []
        image: dict[Value, None] = {}
        for combo in itertools.product(*(self.variables[n].domain for n in names)):
            try:
                value = expr.fn(env_of(combo))
            except EvaluationError:
                continue   # no value here (e.g. division by zero): the combination is out
            if isinstance(value, bool) or not isinstance(value, int | Decimal):
                self.ctx.error(path, f"the formula gives {value!r}, not a number")
                return schema
            if spec.type == "integer" and value != int(value):
                self.ctx.error(path, f"the formula gives {value}, not an integer")
                return schema
            value = int(value) if spec.type == "integer" else value
            image[value] = None
            graph.append((*combo, value))
        if not image:
            self.ctx.error(path, "the formula has no value for any combination")
            return schema
        self.variables[name] = Variable(name, tuple(sorted(image)), label=spec.label or "",  # type: ignore[type-var]
                                        kind=VariableKind.DERIVED)
        self.tables.append(TableConstraint(f"{name}.formula", (*names, name), tuple(graph),
                                           message=f"{name} = {spec.formula}"))
        self.plain[name] = name
        self.types[name] = DECIMAL if spec.type == "decimal" else INTEGER
        return self.schema()


def _rule_text(spec: ConstraintSpec) -> tuple[str, str]:
    if spec.rule is not None:
        return spec.rule, "rule"
    if spec.if_ is not None:
        text = f"if ({spec.if_}) then ({spec.then})"
        return (text + f" else ({spec.else_})" if spec.else_ is not None else text), "if"
    if spec.requires is not None:
        return f"not ({spec.requires[0]}) or ({spec.requires[1]})", "requires"
    assert spec.excludes is not None
    pairs = [f"not (({a}) and ({b}))" for a, b in itertools.combinations(spec.excludes, 2)]
    return " and ".join(pairs), "excludes"


def _exact(value: Value) -> Any:
    """A number as an exact sympy number (Decimals via their digits, never a float)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ConfiguratorError(f"{value!r} is not a number")
    return sympy.Integer(value) if isinstance(value, int) else sympy.Rational(str(value))


def _truth(fn: Callable[[Mapping[str, Any]], Any], env: Mapping[str, Any]) -> bool:
    """A rule holds iff it evaluates to true; an evaluation error means it does not."""
    try:
        return fn(env) is True
    except EvaluationError:
        return False


def _match(var: Variable, cell: Scalar) -> Value | None:
    if cell in var.domain and not isinstance(cell, bool):
        return cell
    text = _text(cell)
    for value in var.domain:
        if str(value) == text:
            return value
    return None


def compile_product_model(spec: ProductModelFile, ctx: CompileContext) -> ProductModel | None:
    """Compile a product model file (problems go to ``ctx``, located in the file)."""
    builder = _Builder(spec, ctx)
    builder.declare()
    schema = builder.schema()
    for name, derived in spec.derived.items():
        schema = builder.derived(name, derived, schema)
    for index, constraint in enumerate(spec.constraints):
        builder.constraint(constraint, ("constraints", index), schema)
    for cname, comp in spec.components.items():
        local = builder.slot_schema(cname)
        for index, constraint in enumerate(comp.constraints):
            builder.constraint(constraint, ("components", cname, "constraints", index), local,
                               comp=builder.components[cname])
    if ctx.has_errors:
        return None
    ids = [t.id for t in builder.tables]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        ctx.error(("constraints",), f"constraint ids used twice: {', '.join(duplicates)}")
        return None
    return ProductModel(spec.name, tuple(builder.variables.values()), tuple(builder.tables),
                        description=spec.description or spec.label or "")
