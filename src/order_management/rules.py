"""Order rules (ruleset kind ``order_rules``): defaulting, validation, processing constraints.

Rule authors write, in the rule language:

- **defaults** that fill a field the order left empty (bill-to and ship-to from
  the customer, payment terms, price list, warehouse from the region — by an
  expression or a decision table), optionally only ``when`` a condition holds;
- **validations** that an order must pass (completeness, credit limit, trade
  compliance, minimum order value), each with a message, a field path, a
  severity and what happens on failure (``reject`` the order, or ``hold`` it
  for review); a validation may run ``for_each: line``;
- **constraints** on change: which fields may not change ``when`` the order
  (or line) is in some status, with the message the user sees.

Validation always reports every problem at once. A rule that cannot be
evaluated on an order (a missing value it did not guard with ``is_set``) is
itself reported as a problem of that rule, never silently skipped.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rule_language import (
    BOOLEAN,
    STRING,
    CompileContext,
    CompiledDecisionTable,
    CompiledExpression,
    DecisionTableSpec,
    EvaluationError,
    LoadedRuleset,
    MissingValueError,
    RulesetBundle,
    RulesetHeader,
    RulesetKind,
)

from .context import LINE_SCHEMA, ORDER_SCHEMA, Totals, line_env, order_env
from .errors import FieldProblem, Severity
from .model import Customer, Order, Party

__all__ = [
    "DEFAULTABLE_FIELDS",
    "ORDER_RULES_KIND",
    "FailureAction",
    "OrderRules",
    "OrderRulesFile",
    "ValidationOutcome",
    "order_rules_from",
]

#: Fields a default may set, and whether the value is a party copied from the customer.
DEFAULTABLE_FIELDS = {
    "bill_to": "party", "ship_to": "party", "payment_terms": "text", "warehouse": "text",
    "price_list": "text", "requested_date": "date",
}
CHANGEABLE_FIELDS = frozenset({
    "customer_id", "channel", "currency", "requested_date", "bill_to", "ship_to", "payment_terms",
    "warehouse", "price_list", "coupons", "manual_discounts", "notes", "attributes", "lines",
    "lines.sku", "lines.quantity", "lines.options", "lines.requested_date", "lines.manual_discounts",
    "lines.unit", "lines.service", "lines.product_model", "lines.kind",
})


#: What order rules read from pricing: absent when the order could not be priced.
_PRICED = frozenset({"order.subtotal", "order.tax", "order.total", "line.net"})

class FailureAction(StrEnum):
    REJECT = "reject"  # the order is not accepted until fixed
    HOLD = "hold"      # the order is accepted and put on hold for review (part 2 acts on it)
    WARN = "warn"      # recorded, nothing stops


class DefaultRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    set: str
    value: str | None = None
    from_customer: str | None = Field(None, description="copy the customer's bill_to or ship_to")
    table: DecisionTableSpec | None = None
    when: str | None = None
    override: bool = Field(False, description="replace a value the order already has")

    @model_validator(mode="after")
    def _one_source(self) -> DefaultRule:
        sources = [s for s in (self.value, self.from_customer, self.table) if s is not None]
        if len(sources) != 1:
            raise ValueError("a default needs exactly one of `value`, `from_customer` or `table`")
        return self


class ValidationRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    require: str
    message: str
    field: str = Field("", description="the field path the problem is reported on")
    for_each: str | None = Field(None, pattern=r"^line$")
    when: str | None = None
    severity: Severity = Severity.ERROR
    on_fail: FailureAction = FailureAction.REJECT


class ConstraintRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    fields: list[str] = Field(min_length=1)
    when: str
    message: str


class OrderRulesFile(RulesetHeader):
    defaults: list[DefaultRule] = Field(default_factory=list)
    validations: list[ValidationRule] = Field(default_factory=list)
    constraints: list[ConstraintRule] = Field(default_factory=list)


@dataclass(frozen=True)
class _Default:
    rule: DefaultRule
    source: str
    when: CompiledExpression | None
    value: CompiledExpression | CompiledDecisionTable | None


@dataclass(frozen=True)
class _Validation:
    rule: ValidationRule
    ruleset: str
    require: CompiledExpression
    when: CompiledExpression | None


@dataclass(frozen=True)
class _Constraint:
    rule: ConstraintRule
    ruleset: str
    when: CompiledExpression
    line_level: bool


@dataclass(frozen=True)
class ValidationOutcome:
    """Every problem found, and what the failures ask for."""

    problems: tuple[FieldProblem, ...] = ()
    hold_reasons: tuple[str, ...] = ()

    @property
    def rejected(self) -> bool:
        return any(p.severity == Severity.ERROR for p in self.problems)


@dataclass(frozen=True)
class OrderRules:
    """All order rules of a bundle, in file order."""

    defaults: tuple[_Default, ...] = ()
    validations: tuple[_Validation, ...] = ()
    constraints: tuple[_Constraint, ...] = ()
    applied_from: tuple[str, ...] = field(default=())

    def apply_defaults(self, order: Order, customer: Customer, as_of: dt.date) -> tuple[Order, list[str]]:
        """Fill empty fields; returns the new order and a line per default applied."""
        applied: list[str] = []
        for default in self.defaults:
            target = default.rule.set
            if getattr(order, target) is not None and not default.rule.override:
                continue
            env = order_env(order, customer, as_of)
            try:
                if default.when is not None and not default.when.evaluate(env):
                    continue
                value = self._default_value(default, customer, env)
            except EvaluationError as exc:
                applied.append(f"{default.rule.id}: not applied ({exc.message})")
                continue
            if value is None:
                continue
            order = order.model_copy(update={target: value})
            applied.append(f"{default.rule.id}: {target} = {_show(value)} [{default.source}]")
        return Order.model_validate(order.model_dump()), applied

    @staticmethod
    def _default_value(default: _Default, customer: Customer, env: dict[str, Any]) -> Any:
        if default.rule.from_customer is not None:
            party: Party | None = getattr(customer, default.rule.from_customer)
            return party
        if isinstance(default.value, CompiledDecisionTable):
            return default.value.evaluate(env).value
        assert default.value is not None
        return default.value.evaluate(env)

    def validate(self, order: Order, customer: Customer, as_of: dt.date,
                 totals: Totals | None = None) -> ValidationOutcome:
        """Run every validation; each failure becomes a located problem."""
        problems: list[FieldProblem] = []
        holds: list[str] = []
        base = order_env(order, customer, as_of, totals)
        for validation in self.validations:
            rule = validation.rule
            if rule.for_each == "line":
                scopes = [(line_env(base, line, totals), f"lines[{i}]")
                          for i, line in enumerate(order.lines)]
            else:
                scopes = [(base, "")]
            for env, prefix in scopes:
                path = ".".join(p for p in (prefix, rule.field) if p) or "order"
                try:
                    if validation.when is not None and not validation.when.evaluate(env):
                        continue
                    passed = validation.require.evaluate(env)
                except MissingValueError as exc:
                    if totals is None and set(exc.missing) <= _PRICED:
                        continue  # pricing failed and said so; a rule on its totals has nothing to add
                    problems.append(FieldProblem(path, f"rule could not be evaluated: {exc.message}",
                                                 f"{validation.ruleset}/{rule.id}", Severity.ERROR))
                    continue
                except EvaluationError as exc:
                    problems.append(FieldProblem(path, f"rule could not be evaluated: {exc.message}",
                                                 f"{validation.ruleset}/{rule.id}", Severity.ERROR))
                    continue
                if passed:
                    continue
                severity = Severity.WARNING if rule.on_fail != FailureAction.REJECT else rule.severity
                problems.append(FieldProblem(path, rule.message, f"{validation.ruleset}/{rule.id}", severity))
                if rule.on_fail == FailureAction.HOLD:
                    holds.append(f"{rule.id}: {rule.message}")
        return ValidationOutcome(tuple(problems), tuple(holds))

    def check_change(self, before: Order, after: Order, customer: Customer,
                     as_of: dt.date) -> list[FieldProblem]:
        """Problems with changing ``before`` into ``after`` in ``before``'s status."""
        from .revisions import diff

        changes = diff(before, after)
        problems: list[FieldProblem] = []
        base = order_env(before, customer, as_of)
        for constraint in self.constraints:
            for change in changes:
                line_index = change.line_index
                if not any(_covers(f, change.field_key) for f in constraint.rule.fields):
                    continue
                env: dict[str, Any] = base
                if constraint.line_level:
                    if line_index is None or line_index >= len(before.lines):
                        continue
                    env = line_env(base, before.lines[line_index])
                try:
                    forbidden = constraint.when.evaluate(env)
                except EvaluationError as exc:
                    forbidden = True
                    message = f"{constraint.rule.message} (rule could not be evaluated: {exc.message})"
                else:
                    message = constraint.rule.message
                if forbidden:
                    problems.append(FieldProblem(change.path, message,
                                                 f"{constraint.ruleset}/{constraint.rule.id}"))
        return problems


def _covers(declared: str, field_key: str) -> bool:
    return field_key == declared or field_key.startswith(declared + ".")


def _show(value: Any) -> str:
    if isinstance(value, Party):
        return f"{value.name} ({value.address.country})"
    return str(value)


# -- the ruleset kind ----------------------------------------------------------------
def _compile(model: OrderRulesFile, ctx: CompileContext) -> OrderRules:
    ref = f"{model.name}@{model.version}"
    defaults = []
    for index, rule in enumerate(model.defaults):
        path = ("defaults", index)
        kind = DEFAULTABLE_FIELDS.get(rule.set)
        if kind is None:
            ctx.error((*path, "set"), f"`{rule.set}` cannot be defaulted",
                      hint="one of " + ", ".join(sorted(DEFAULTABLE_FIELDS)))
            continue
        when = ctx.expression(rule.when, (*path, "when"), ORDER_SCHEMA, BOOLEAN) if rule.when else None
        value: Any = None
        if rule.from_customer is not None:
            if kind != "party" or rule.from_customer not in ("bill_to", "ship_to"):
                ctx.error((*path, "from_customer"), "from_customer copies `bill_to` or `ship_to` into a party field")
                continue
        elif rule.table is not None:
            value = ctx.decision_table(rule.table, (*path, "table"), ORDER_SCHEMA)
        else:
            if kind == "party":
                ctx.error((*path, "value"), f"`{rule.set}` is a party; use `from_customer`")
                continue
            expect = STRING if kind == "text" else None
            value = ctx.expression(rule.value or "", (*path, "value"), ORDER_SCHEMA, expect)
            if value is not None and kind == "date" and str(value.type) != "date":
                ctx.error((*path, "value"), f"`{rule.set}` needs a date, this is a {value.type}")
        defaults.append(_Default(rule, f"{ref}/{rule.id}", when, value))

    validations = []
    for index, rule in enumerate(model.validations):
        path = ("validations", index)
        schema = LINE_SCHEMA if rule.for_each == "line" else ORDER_SCHEMA
        require = ctx.expression(rule.require, (*path, "require"), schema, BOOLEAN)
        when = ctx.expression(rule.when, (*path, "when"), schema, BOOLEAN) if rule.when else None
        if require is not None:
            validations.append(_Validation(rule, ref, require, when))

    constraints = []
    for index, rule in enumerate(model.constraints):
        path = ("constraints", index)
        unknown = [f for f in rule.fields if f not in CHANGEABLE_FIELDS]
        if unknown:
            ctx.error((*path, "fields"), f"unknown field(s): {', '.join(unknown)}",
                      hint="fields: " + ", ".join(sorted(CHANGEABLE_FIELDS)))
            continue
        line_level = all(f.startswith("lines.") for f in rule.fields)
        schema = LINE_SCHEMA if line_level else ORDER_SCHEMA
        when = ctx.expression(rule.when, (*path, "when"), schema, BOOLEAN)
        if when is not None:
            constraints.append(_Constraint(rule, ref, when, line_level))

    ids = [r.id for r in (*model.defaults, *model.validations, *model.constraints)]
    for index, rule_id in enumerate(ids):
        if rule_id in ids[:index]:
            ctx.error((), f"rule id {rule_id!r} is used twice in this file")
    return OrderRules(tuple(defaults), tuple(validations), tuple(constraints), (ref,))


ORDER_RULES_KIND = RulesetKind("order_rules", OrderRulesFile, _compile)


def order_rules_from(bundle: RulesetBundle, as_of: dt.date | None = None) -> OrderRules:
    """Every ``order_rules`` ruleset of ``bundle`` (effective on ``as_of``), combined in file order."""
    loaded: Sequence[LoadedRuleset] = bundle.of_kind("order_rules", as_of)
    parts: list[OrderRules] = [r.artefact for r in loaded]
    return OrderRules(
        tuple(d for p in parts for d in p.defaults),
        tuple(v for p in parts for v in p.validations),
        tuple(c for p in parts for c in p.constraints),
        tuple(ref for p in parts for ref in p.applied_from),
    )
