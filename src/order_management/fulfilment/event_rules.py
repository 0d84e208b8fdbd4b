"""Event rules (ruleset kind ``event_rules``): jeopardy, holds, approvals and reorder points.

Authors write conditions in the rule language; this module type-checks them
(so a typo is a located load error with a suggestion) and compiles each into a
durable-rules condition, so the engine's own error codes never reach an author.
The engine matches flat facts, so a condition may compare a fact field with a
constant, joined by ``and``/``or``/``not``, ``in [...]`` and ``between`` — anything
else (arithmetic, field against field, functions) is refused at load time with
the reason.

Facts are posted in whole numbers (the engine keeps numbers as doubles): money
in minor units of the file's ``currency`` (babel's precision: EUR 2, JPY 0),
decimals in thousandths, so equal amounts compare equal, exactly. A rule that
reads money only matches facts in the file's currency. Dates are ISO text,
which the engine compares in calendar order; ``as_of`` (today, from the
clock) is a fact field like any other — rules never use the engine's timers.

>>> from rule_language import load_rulesets
>>> text = '''
... kind: event_rules
... name: demo
... version: 1
... currency: EUR
... approvals:
...   - {id: big, when: "order.total > 10000.00", role: sales_director, reason: Big order}
... '''
>>> rules = load_rulesets([("demo.yaml", text)], [EVENT_RULES_KIND]).get("demo").artefact
>>> rules.rules[0].condition
{'$and': [{'type': 'order'}, {'order__currency': 'EUR'}, {'$gt': {'order__total': 1000000}}]}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from babel.numbers import get_currency_precision
from pydantic import BaseModel, ConfigDict, Field, model_validator

from rule_language import (
    BOOLEAN,
    CompileContext,
    LoadedRuleset,
    RuleKind,
    RulesetBundle,
    RulesetHeader,
    RulesetKind,
    Schema,
    schema_for,
)
from rule_language.syntax import Between, Binary, Compare, In, ListLiteral, Literal, Node, Path, Unary, chain

__all__ = [
    "EVENT_RULES_KIND",
    "FACT_SCHEMAS",
    "CompiledEventRule",
    "EventRuleSet",
    "EventRulesFile",
    "FactType",
    "Priority",
    "RuleSection",
    "encode_fact",
    "event_rules_from",
]

DECIMAL_SCALE = 1000  # decimals (quantities) are posted in thousandths


class Priority(StrEnum):
    """Jeopardy priorities, lowest first (compare with :meth:`rank`)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Priority).index(self)


class RuleSection(StrEnum):
    JEOPARDY = "jeopardy"
    HOLD = "hold"
    APPROVAL = "approval"
    REORDER = "reorder"


class FactType(StrEnum):
    LINE = "line"    # one per open line: jeopardy
    ORDER = "order"  # one per order: holds and approvals
    STOCK = "stock"  # one per item and location: reorder points


#: What each fact carries: the event rules' names of the one order vocabulary
#: (:mod:`rule_language.vocabulary`). ``as_of`` is today, from the Clock port: time is
#: data here, the engine's timers are never used.
FACT_SCHEMAS: Mapping[FactType, Schema] = {
    FactType.ORDER: schema_for(RuleKind.EVENT, per_line=False),
    FactType.LINE: schema_for(RuleKind.EVENT),
}


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
    when: str
    action: str | None = Field(None, description="a host action (by its registered name) run when the rule fires")


class JeopardyRule(_Rule):
    priority: Priority


class HoldRule(_Rule):
    reason: str = Field(min_length=1)


class ApprovalRule(_Rule):
    role: str = Field(min_length=1)
    reason: str = Field(min_length=1)


class ReorderPoint(BaseModel):
    """Min/max replenishment: below ``min`` available, order up to ``max``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    sku: str = Field(min_length=1)
    location: str = Field(min_length=1)
    min: int = Field(ge=0, description="the reorder point, in whole units")
    max: int = Field(gt=0, description="the level a replenishment orders up to")
    action: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> ReorderPoint:
        if self.max <= self.min:
            raise ValueError("`max` must be above `min` (the reorder point)")
        return self


class EventRulesFile(RulesetHeader):
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$", description="the currency of money in conditions")
    jeopardy: list[JeopardyRule] = Field(default_factory=list)
    holds: list[HoldRule] = Field(default_factory=list)
    approvals: list[ApprovalRule] = Field(default_factory=list)
    reorder_points: list[ReorderPoint] = Field(default_factory=list)


@dataclass(frozen=True)
class CompiledEventRule:
    """One rule as the engine runs it: a condition on one fact, and what its firing means."""

    key: str                   # unique in the engine: "<ruleset>/<section>/<id>"
    id: str
    section: RuleSection
    fact_type: FactType
    condition: dict[str, Any]  # durable-rules JSON
    payload: Mapping[str, Any] = field(default_factory=dict)
    action: str | None = None
    text: str = ""


@dataclass(frozen=True)
class EventRuleSet:
    ref: str
    currency: str | None
    rules: tuple[CompiledEventRule, ...]


class _Untranslatable(Exception):
    pass


_OPS = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "!=": "!="}
_NEGATE = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "=": "!=", "!=": "="}


def _fold(node: Node) -> Node:
    """``-3`` parses as a negation of ``3``: a constant all the same."""
    if isinstance(node, Unary) and node.op == "-" and isinstance(node.operand, Literal) \
            and isinstance(node.operand.value, int | Decimal) and not isinstance(node.operand.value, bool):
        return Literal(-node.operand.value, node.operand.currency)
    return node


def field_name(dotted: str) -> str:
    """The fact field of a rule path: ``order.total`` → ``order__total``."""
    return dotted.replace(".", "__")


@dataclass(frozen=True)
class _Translator:
    schema: Schema
    money_scale: int | None

    def __call__(self, node: Node, negate: bool = False) -> dict[str, Any]:
        if isinstance(node, Binary) and node.op in ("and", "or"):
            op = {"and": "$and", "or": "$or"}[node.op]
            if negate:  # De Morgan
                op = "$or" if op == "$and" else "$and"
            first, links = chain(node)  # a long `or` is unrolled, not recursed into
            terms = [first, *(link.right for link in links)]
            if all(link.op == node.op for link in links):
                return {op: [self(term, negate) for term in terms]}
            return {op: [self(node.left, negate), self(node.right, negate)]}
        if isinstance(node, Unary) and node.op == "not":
            return self(node.operand, not negate)
        if isinstance(node, Compare):
            left, right, op = _fold(node.left), _fold(node.right), node.op
            if isinstance(left, Literal) and isinstance(right, Path):
                left, right, op = right, left, _FLIP[op]
            if not (isinstance(left, Path) and isinstance(right, Literal)):
                raise _Untranslatable("compare a fact field with a constant (`order.total > 500.00`); "
                                      "arithmetic, functions and field-against-field comparisons cannot run there")
            if negate:
                op = _NEGATE[op]
            name = field_name(left.dotted)
            value = self._encode(left.dotted, right.value)
            return {name: value} if op == "=" else {_OPS[op]: {name: value}}
        if isinstance(node, In) and isinstance(node.value, Path) and isinstance(node.options, ListLiteral):
            items = tuple(_fold(i) for i in node.options.items)
            if not items or not all(isinstance(i, Literal) for i in items):
                raise _Untranslatable("`in` needs a list of constants")
            negated = node.negated != negate
            name = field_name(node.value.dotted)
            values = [self._encode(node.value.dotted, i.value) for i in items]  # type: ignore[attr-defined]
            if negated:
                return {"$and": [{"$neq": {name: v}} for v in values]}
            return {"$or": [{name: v} for v in values]}
        if isinstance(node, Between) and isinstance(node.value, Path) and isinstance(_fold(node.low), Literal) \
                and isinstance(_fold(node.high), Literal):
            low = Compare(">=", node.value, _fold(node.low))
            high = Compare("<=", node.value, _fold(node.high))
            return self(Binary("and", low, high), negate)
        raise _Untranslatable("the event engine matches a fact field against constants, joined by and/or/not; "
                              "arithmetic, functions and field-against-field comparisons are not supported")

    def _encode(self, dotted: str, value: Any) -> Any:
        return encode_value(value, _scale_of(self.schema, dotted, self.money_scale))


def _type_name(schema: Schema, dotted: str) -> str:
    return str(schema.resolve(dotted))


def _scale_of(schema: Schema, dotted: str, money_scale: int | None) -> int | None:
    name = _type_name(schema, dotted)
    if name.startswith("money"):
        if money_scale is None:
            raise _Untranslatable("money in a condition needs the file's `currency`")
        return money_scale
    if name == "decimal":
        return DECIMAL_SCALE
    return None


def encode_value(value: Any, scale: int | None) -> Any:
    """A constant or fact value as the engine gets it: scaled numbers are whole, exactly.

    Fact values finer than the scale are rounded half-even (amounts from pricing
    are already rounded to the minor unit, so this only touches odd inputs).

    >>> encode_value(Decimal("12.34"), 100)
    1234
    >>> encode_value(Decimal("3"), None)
    3
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        raise TypeError("a float is not an exact amount")
    if isinstance(value, dt.date):
        return value.isoformat()
    if scale is None:
        if isinstance(value, Decimal):
            if value != value.to_integral_value():
                raise _Untranslatable(f"{value} is not a whole number")
            return int(value)
        return value
    scaled = Decimal(value) * scale
    return int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))


def _literal_fits(value: Any, scale: int | None) -> bool:
    if scale is None or not isinstance(value, int | Decimal) or isinstance(value, bool):
        return True
    scaled = Decimal(value) * scale
    return scaled == scaled.to_integral_value()


def encode_fact(fact_type: FactType, values: Mapping[str, Any], currency: str | None) -> dict[str, Any]:
    """A fact for the engine: ``{"type": ..., "order__total": 123456, ...}``.

    ``values`` maps rule paths (``order.total``) to typed values; money is posted
    in minor units of ``currency`` (the order's), decimals in thousandths.
    """
    schema = FACT_SCHEMAS.get(fact_type)
    money_scale = 10 ** get_currency_precision(currency) if currency else None
    fact: dict[str, Any] = {"type": fact_type.value}
    for dotted, value in values.items():
        if value is None:
            continue
        scale = None
        if schema is not None:
            name = _type_name(schema, dotted)
            scale = money_scale if name.startswith("money") else DECIMAL_SCALE if name == "decimal" else None
            if isinstance(value, str) and (name.startswith("money") or name in ("decimal", "integer")):
                value = Decimal(value)  # amounts written as text (scenario files, JSON)
        fact[field_name(dotted)] = encode_value(value, scale)
    if currency is not None:
        fact["order__currency"] = currency
    return fact


# -- the ruleset kind ----------------------------------------------------------------
def _compile(model: EventRulesFile, ctx: CompileContext) -> EventRuleSet:
    ref = model.ref
    money_scale = 10 ** get_currency_precision(model.currency) if model.currency else None
    rules: list[CompiledEventRule] = []
    sections: list[tuple[str, RuleSection, FactType, Sequence[_Rule]]] = [
        ("jeopardy", RuleSection.JEOPARDY, FactType.LINE, model.jeopardy),
        ("holds", RuleSection.HOLD, FactType.ORDER, model.holds),
        ("approvals", RuleSection.APPROVAL, FactType.ORDER, model.approvals),
    ]
    seen: set[tuple[RuleSection, str]] = set()
    for key, section, fact_type, items in sections:
        schema = FACT_SCHEMAS[fact_type]
        for index, rule in enumerate(items):
            path = (key, index)
            if (section, rule.id) in seen:
                ctx.error((*path, "id"), f"rule id {rule.id!r} is used twice in `{key}`")
            seen.add((section, rule.id))
            compiled = ctx.expression(rule.when, (*path, "when"), schema, BOOLEAN)
            if compiled is None:
                continue
            translate = _Translator(schema, money_scale)
            try:
                condition = translate(compiled.ast)
                _check_literals(compiled.ast, schema, money_scale)
            except _Untranslatable as exc:
                ctx.error((*path, "when"), f"this condition cannot run in the event engine: {exc}")
                continue
            money = any(_type_name(schema, s).startswith("money") for s in compiled.symbols if s in schema)
            parts = [{"type": fact_type.value}]
            if money:
                parts.append({"order__currency": model.currency})
            parts.append(condition)
            payload = {k: v for k, v in rule.model_dump().items() if k not in ("id", "when", "action")}
            rules.append(CompiledEventRule(f"{ref}/{section.value}/{rule.id}", rule.id, section, fact_type,
                                           {"$and": parts}, payload, rule.action, rule.when))
    for index, point in enumerate(model.reorder_points):
        rule_id = f"{point.sku}@{point.location}"
        if (RuleSection.REORDER, rule_id) in seen:
            ctx.error(("reorder_points", index), f"{point.sku} at {point.location} has two reorder points")
        seen.add((RuleSection.REORDER, rule_id))
        condition = {"$and": [{"type": FactType.STOCK.value}, {"sku": point.sku}, {"location": point.location},
                              {"$lt": {"available": point.min}}]}
        rules.append(CompiledEventRule(f"{ref}/reorder/{rule_id}", rule_id, RuleSection.REORDER, FactType.STOCK,
                                       condition, {"sku": point.sku, "location": point.location, "min": point.min,
                                                   "max": point.max}, point.action,
                                       f"available < {point.min}"))
    return EventRuleSet(ref, model.currency, tuple(rules))


def _check_literals(node: Node, schema: Schema, money_scale: int | None) -> None:
    """Refuse constants finer than the posted scale (``10.005`` EUR cannot equal any amount)."""
    if isinstance(node, Compare | Between | In):
        target = node.left if isinstance(node, Compare) else node.value
        if isinstance(node, Compare) and isinstance(node.left, Literal):
            target = node.right
        if isinstance(target, Path):
            scale = _scale_of(schema, target.dotted, money_scale)
            literals: list[Node] = []
            if isinstance(node, Compare):
                literals = [node.right if target is node.left else node.left]
            elif isinstance(node, Between):
                literals = [node.low, node.high]
            elif isinstance(node.options, ListLiteral):
                literals = list(node.options.items)
            for literal in map(_fold, literals):
                if isinstance(literal, Literal) and not _literal_fits(literal.value, scale):
                    raise _Untranslatable(f"{literal.value} has more decimals than the engine keeps for "
                                          f"{target.dotted}")
    for child in ("left", "right", "operand"):
        sub = getattr(node, child, None)
        if isinstance(sub, Node):
            _check_literals(sub, schema, money_scale)


def _scenario(target: LoadedRuleset, bundle: RulesetBundle, given: Mapping[str, Any],
              as_of: dt.date | None) -> Mapping[str, Any]:
    """Run the file's rules in the engine on the given facts; what would fire.

    ``given``: ``order`` and ``customer`` fields (holds and approvals), plus
    ``line`` fields for jeopardy (``days_late``...), and ``stock`` (a list of
    ``{sku, location, available}``) for reorder points; ``currency`` (default:
    the file's). Result: ``jeopardy`` (the highest priority, or none), ``holds``,
    ``approvals`` and ``reorder`` (rule ids).
    """
    from .durable_adapter import DurableRulesAdapter

    rules: EventRuleSet = target.artefact
    names = {r.action for r in rules.rules if r.action}
    adapter = DurableRulesAdapter([rules], dict.fromkeys(names, lambda fact: None))
    currency = given.get("currency", rules.currency)
    values = {f"{scope}.{k}": _decimal(v) for scope in ("order", "customer")
              for k, v in dict(given.get(scope, {})).items()}
    values["as_of"] = as_of
    facts = [encode_fact(FactType.ORDER, values, currency)]
    if "line" in given:
        line = {f"line.{k}": _decimal(v) for k, v in dict(given["line"]).items()}
        facts.append(encode_fact(FactType.LINE, {**values, **line}, currency))
    for item in given.get("stock", []):
        facts.append({"type": FactType.STOCK.value, "sku": item["sku"], "location": item["location"],
                      "available": int(_decimal(item["available"]))})
    fired = adapter.evaluate("scenario", facts)
    fired.raise_for_errors()
    jeopardy = [Priority(f.rule.payload["priority"]) for f in fired.firings if f.rule.section == RuleSection.JEOPARDY]
    return {
        "jeopardy": max(jeopardy, key=lambda p: p.rank).value if jeopardy else None,
        "holds": [f.rule.id for f in fired.firings if f.rule.section == RuleSection.HOLD],
        "approvals": [f.rule.id for f in fired.firings if f.rule.section == RuleSection.APPROVAL],
        "reorder": [f.rule.id for f in fired.firings if f.rule.section == RuleSection.REORDER],
    }


def _decimal(value: Any) -> Any:
    if isinstance(value, float):
        raise TypeError(f"{value!r}: write amounts as text or decimals, not floats")
    return value


EVENT_RULES_KIND = RulesetKind("event_rules", EventRulesFile, _compile, run_scenario=_scenario)


def event_rules_from(bundle: RulesetBundle, as_of: dt.date | None = None) -> tuple[EventRuleSet, ...]:
    """Every ``event_rules`` ruleset of ``bundle`` (effective on ``as_of``), in file order."""
    return tuple(r.artefact for r in bundle.of_kind("event_rules", as_of))
