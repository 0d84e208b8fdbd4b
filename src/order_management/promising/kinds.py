"""The ``sourcing`` ruleset kind: promising rules as a YAML file, and its scenario runner.

A ``sourcing`` file declares locations, shipping lanes, how each item is
promised, demand classes and their protected allocations, and the sourcing
rules (ranked or scored locations and a split policy, chosen by a
rule-language condition on the request). See ``docs/promising.md`` and
``rulesets/order/sourcing.yaml``. The loader reports every problem with its
``file:line:col``; nothing here is evaluated before a request arrives.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from rule_language import (
    BOOLEAN,
    CompileContext,
    LoadedRuleset,
    RulesetBundle,
    RulesetHeader,
    RulesetKind,
    load_rulesets,
    suggest,
)

from .models import DemandRequest, ItemPolicy, PromisingMode, SupplyPosition
from .planner import plan_promise
from .results import PromisePlan
from .rules import (
    SOURCING_SCHEMA,
    AllocationRule,
    ClassShare,
    DemandClassRule,
    Lane,
    Location,
    PromisingRules,
    SourcingRule,
    SourcingStrategy,
    SplitPolicy,
    Weights,
)
from .store import InMemoryReservationStore

__all__ = ["PROMISING_KINDS", "SourcingFile", "compile_sourcing", "plan_view", "promising_rules_from_yaml"]


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class LocationSpec(_Spec):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$", max_length=80)
    name: str = ""


class LaneSpec(_Spec):
    from_: str = Field(alias="from")
    to: list[str] | Literal["*"]
    transit_days: int = Field(ge=0, le=365)
    cost_per_unit: Decimal = Field(default=Decimal(0), ge=0)
    distance_km: int | None = Field(default=None, ge=0)


class ItemPolicySpec(_Spec):
    mode: PromisingMode = PromisingMode.ATP
    atp_time_fence_days: int | None = Field(default=None, ge=0, le=3650)


class PromisingSpec(_Spec):
    default: ItemPolicySpec = ItemPolicySpec()
    items: dict[str, ItemPolicySpec] = Field(default_factory=dict)


class DemandClassSpec(_Spec):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$", max_length=60)
    when: str | None = None
    description: str | None = None


class ShareSpec(_Spec):
    demand_class: str
    share: Decimal = Field(gt=0, le=1)
    release_after_days: int | None = Field(default=None, ge=0, le=3650)
    release_on: dt.date | None = None


class AllocationSpec(_Spec):
    items: list[str] | None = None
    locations: list[str] | None = None
    shares: list[ShareSpec] = Field(min_length=1)
    description: str | None = None


class WeightsSpec(_Spec):
    transit_days: Decimal = Field(default=Decimal(1), ge=0)
    cost: Decimal = Field(default=Decimal(0), ge=0)
    distance_km: Decimal = Field(default=Decimal(0), ge=0)
    utilisation: Decimal = Field(default=Decimal(0), ge=0)


class SplitSpec(_Spec):
    policy: SplitPolicy = SplitPolicy.LINE_COMPLETE
    min_quantity: int = Field(default=1, ge=1)


class SourcingRuleSpec(_Spec):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=80)
    when: str | None = None
    strategy: SourcingStrategy = SourcingStrategy.RANKED
    locations: list[str] = Field(min_length=1)
    weights: WeightsSpec | None = None
    split: SplitSpec = SplitSpec()
    description: str | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _bool_as_text(cls, value: Any) -> Any:
        return str(value).lower() if isinstance(value, bool) else value


class SourcingFile(RulesetHeader):
    """A ``kind: sourcing`` file."""

    kind: Literal["sourcing"]
    locations: list[LocationSpec] = Field(min_length=1)
    lanes: list[LaneSpec] = Field(default_factory=list)
    promising: PromisingSpec = PromisingSpec()
    demand_classes: list[DemandClassSpec] = Field(default_factory=list)
    allocations: list[AllocationSpec] = Field(default_factory=list)
    rules: list[SourcingRuleSpec] = Field(min_length=1)


def _known(ctx: CompileContext, path: tuple[Any, ...], name: str, known: Sequence[str], what: str) -> bool:
    if name in known:
        return True
    ctx.error(path, f"unknown {what} `{name}`", hint=suggest(name, list(known)) or
              (f"{what}s: " + ", ".join(known) if known else f"declare it under `{what}s`"))
    return False


def compile_sourcing(model: SourcingFile, ctx: CompileContext) -> PromisingRules | None:
    """Check references and compile conditions; every problem is reported with its location."""
    location_ids: list[str] = []
    for index, spec in enumerate(model.locations):
        if spec.id in location_ids:
            ctx.error(("locations", index, "id"), f"location `{spec.id}` is declared twice")
        location_ids.append(spec.id)
    lanes = []
    for index, lane in enumerate(model.lanes):
        for c_index, country in enumerate([] if lane.to == "*" else lane.to):
            if not re.fullmatch(r"[A-Z]{2}", country):
                ctx.error(("lanes", index, "to", c_index), f"`{country}` is not a country code",
                          hint="use ISO 3166 alpha-2 codes in capitals (DE, FR, US), or \"*\" for anywhere")
        if _known(ctx, ("lanes", index, "from"), lane.from_, location_ids, "location"):
            countries = None if lane.to == "*" else frozenset(lane.to)
            lanes.append(Lane(lane.from_, countries, lane.transit_days, lane.cost_per_unit, lane.distance_km))
    for loc in location_ids:
        if not any(lane.location == loc for lane in lanes) and not ctx.has_errors:
            ctx.warning(("locations",), f"location `{loc}` has no lane: it can never ship")
    class_names = [c.name for c in model.demand_classes]
    classes = []
    for index, spec in enumerate(model.demand_classes):
        if class_names.index(spec.name) != index:
            ctx.error(("demand_classes", index, "name"), f"demand class `{spec.name}` is declared twice")
        when = None if spec.when is None else ctx.expression(
            spec.when, ("demand_classes", index, "when"), SOURCING_SCHEMA, expect=BOOLEAN)
        classes.append(DemandClassRule(spec.name, when))
    allocations = []
    for index, spec in enumerate(model.allocations):
        shares = []
        seen: set[str] = set()
        for s_index, share in enumerate(spec.shares):
            path = ("allocations", index, "shares", s_index, "demand_class")
            if _known(ctx, path, share.demand_class, class_names, "demand class"):
                if share.demand_class in seen:
                    ctx.error(path, f"demand class `{share.demand_class}` has two shares in one allocation")
                seen.add(share.demand_class)
            if share.release_after_days is None and share.release_on is None:
                ctx.warning(("allocations", index, "shares", s_index),
                            "this share is never released to other demand classes",
                            hint="add `release_after_days` or `release_on` unless that is intended")
            shares.append(ClassShare(share.demand_class, share.share, share.release_after_days, share.release_on))
        total = sum((s.share for s in spec.shares), Decimal(0))
        if total > 1:
            ctx.error(("allocations", index, "shares"), f"shares add up to {total}, more than 1 (100 %)")
        for l_index, loc in enumerate(spec.locations or ()):
            _known(ctx, ("allocations", index, "locations", l_index), loc, location_ids, "location")
        allocations.append(AllocationRule(tuple(shares), None if spec.items is None else frozenset(spec.items),
                                          None if spec.locations is None else frozenset(spec.locations)))
    rules = []
    rule_names: list[str] = []
    unconditional: str | None = None
    for index, spec in enumerate(model.rules):
        if spec.name in rule_names:
            ctx.error(("rules", index, "name"), f"sourcing rule `{spec.name}` is declared twice")
        rule_names.append(spec.name)
        if unconditional is not None:
            ctx.warning(("rules", index), f"rule `{spec.name}` can never apply: rule `{unconditional}` "
                        "above it has no `when`", hint="move the catch-all rule last")
        for l_index, loc in enumerate(spec.locations):
            _known(ctx, ("rules", index, "locations", l_index), loc, location_ids, "location")
        if len(set(spec.locations)) != len(spec.locations):
            ctx.error(("rules", index, "locations"), "a location is listed twice")
        if spec.weights is not None and spec.strategy == SourcingStrategy.RANKED:
            ctx.warning(("rules", index, "weights"), "weights are ignored by a ranked rule",
                        hint="use `strategy: scored`")
        when = None
        if spec.when is None:
            unconditional = unconditional or spec.name
        else:
            when = ctx.expression(spec.when, ("rules", index, "when"), SOURCING_SCHEMA, expect=BOOLEAN)
        weights = spec.weights or WeightsSpec()
        rules.append(SourcingRule(spec.name, tuple(spec.locations), spec.strategy, when,
                                  Weights(weights.transit_days, weights.cost, weights.distance_km,
                                          weights.utilisation),
                                  spec.split.policy, spec.split.min_quantity))
    if ctx.has_errors:
        return None
    items = {sku: ItemPolicy(item=sku, mode=p.mode, atp_time_fence_days=p.atp_time_fence_days)
             for sku, p in model.promising.items.items()}
    return PromisingRules(
        ref=model.ref,
        locations={s.id: Location(s.id, s.name) for s in model.locations},
        lanes=tuple(lanes), sourcing=tuple(rules), demand_classes=tuple(classes),
        allocations=tuple(allocations), items=items,
        default_mode=model.promising.default.mode,
        default_atp_time_fence_days=model.promising.default.atp_time_fence_days,
    )


def plan_view(plan: PromisePlan) -> dict[str, Any]:
    """A plan as plain data keyed for readable scenario expectations (lines by id)."""
    return {
        "demand_class": plan.demand_class,
        "sourcing_rule": plan.sourcing_rule,
        "split_policy": plan.split_policy,
        "fully_promised": plan.fully_promised,
        "promised_on": plan.promised_on,
        "lines": {
            line.line_id: {
                "status": line.status.value,
                "promised_on": line.promised_on,
                "backordered": line.backordered,
                "locations": [s.location for s in line.shipments],
                "shipments": [{"location": s.location, "quantity": s.quantity, "ship_on": s.ship_on,
                               "deliver_on": s.deliver_on, "source": s.source.value,
                               "supply": list(s.supply_refs)} for s in line.shipments],
                "reason": line.reason,
            } for line in plan.lines
        },
        "reserved": _by_key(plan.commitments),
        "planned": _by_key(plan.planned),
    }


def _by_key(records: Sequence[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for record in records:
        key = f"{record.item}@{record.location}"
        out[key] = out.get(key, 0) + record.quantity
    return out


def _run_scenario(target: LoadedRuleset, bundle: RulesetBundle, given: Mapping[str, Any],
                  as_of: dt.date | None) -> Mapping[str, Any]:
    """GIVEN ``supply`` (positions), ``before`` (requests promised first, in order) and ``request``."""
    data = dict(given)
    day = data.pop("as_of", None) or as_of
    if isinstance(day, str):
        day = dt.date.fromisoformat(day)
    if day is None:
        raise ValueError("a sourcing scenario needs `as_of` (in the case or the file)")
    unknown = sorted(set(data) - {"supply", "before", "request"})
    if unknown:
        raise ValueError(f"unknown scenario input(s) {', '.join(unknown)}; expected supply, before, request")
    rules: PromisingRules = target.artefact
    store = InMemoryReservationStore(SupplyPosition.model_validate(p) for p in data.get("supply", ()))
    from .service import promise

    for index, earlier in enumerate(data.get("before", ())):
        promise(store, DemandRequest.model_validate(earlier), rules, as_of=day, reservation_id=f"before-{index}")
    request = DemandRequest.model_validate(data["request"])
    return plan_view(plan_promise(request, store.snapshot(request.items), rules, day))


PROMISING_KINDS: tuple[RulesetKind, ...] = (
    RulesetKind("sourcing", SourcingFile, compile_sourcing, run_scenario=_run_scenario),
)


def promising_rules_from_yaml(text: str, file: str = "<sourcing>") -> PromisingRules:
    """Compile one ``sourcing`` file's text (pure; raises ``RulesetLoadError`` listing every problem)."""
    bundle = load_rulesets([(file, text)], PROMISING_KINDS)
    [ruleset] = bundle.of_kind("sourcing")
    return ruleset.artefact  # type: ignore[no-any-return]
