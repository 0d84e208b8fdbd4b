"""Promising rules, compiled: locations, lanes, item policies, demand classes,
allocations and sourcing rules.

This is the artefact of a ``sourcing`` ruleset file (see :mod:`.kinds`), and
can also be built directly in Python. Conditions (``when``) are rule-language
expressions over :data:`SOURCING_SCHEMA`, compiled once at load time.

Allocation shares are applied to every unit of supply of a matching item and
location (stock on hand and each receipt, after safety stock has come off the
top): ``floor(quantity × share)`` units are protected for the demand class, the remainder is the common pool (so the
protected and common parts always sum exactly to the supply). Other classes
may use a protected part only for shipments on or after its release date:
the supply's date + ``release_after_days``, or ``release_on``, whichever
comes first (neither: never released).
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from rule_language import STRING, CompiledExpression, MissingValueError, RuleLanguageError, Schema

from .errors import PromisingInputError, SourcingRuleError, UnknownNameError
from .models import DEFAULT_DEMAND_CLASS, DemandRequest, ItemPolicy, PromisingMode

__all__ = [
    "SOURCING_SCHEMA",
    "AllocationRule",
    "ClassShare",
    "DemandClassRule",
    "Lane",
    "Location",
    "PromisingRules",
    "SourcingRule",
    "SourcingStrategy",
    "SplitPolicy",
    "Weights",
    "request_env",
]

#: What sourcing and demand-class conditions may read.
SOURCING_SCHEMA = Schema.of({
    "ship_to.country": STRING,
    "ship_to.region": STRING,
    "ship_to.postal_code": STRING,
    "customer.id": STRING,
    "customer.segment": STRING,
    "channel": STRING,
    "order.reference": STRING,
    "order.lines": "integer",
    "order.quantity": "integer",
})


class SourcingStrategy(enum.StrEnum):
    RANKED = "ranked"   # locations in the listed order
    SCORED = "scored"   # lowest weighted score first (ties: listed order)


class SplitPolicy(enum.StrEnum):
    """How an order may be divided.

    - ``ship_complete``: the whole order from one location, on one date;
    - ``line_complete``: each line whole from one location on one date, lines
      may come from different locations;
    - ``split``: a line may be split over locations and dates, each part at
      least ``min_split_quantity`` units.
    """

    SHIP_COMPLETE = "ship_complete"
    LINE_COMPLETE = "line_complete"
    SPLIT = "split"


@dataclass(frozen=True, slots=True)
class Location:
    id: str
    name: str = ""


@dataclass(frozen=True, slots=True)
class Lane:
    """Shipping from a location to countries (None: anywhere): transit time, cost, distance."""

    location: str
    countries: frozenset[str] | None
    transit_days: int
    cost_per_unit: Decimal = Decimal(0)
    distance_km: int | None = None


@dataclass(frozen=True, slots=True)
class Weights:
    """Weights of a scored rule; score = Σ weight × criterion, lowest wins.

    Criteria per candidate location: ``transit_days`` of its lane, ``cost``
    per unit of its lane, ``distance_km`` of its lane (0 when unknown) and
    ``utilisation``: the share (0–1) of the location's supply of the item
    already committed, so a heavily promised location is spared.
    """

    transit_days: Decimal = Decimal(1)
    cost: Decimal = Decimal(0)
    distance_km: Decimal = Decimal(0)
    utilisation: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class SourcingRule:
    name: str
    locations: tuple[str, ...]
    strategy: SourcingStrategy = SourcingStrategy.RANKED
    when: CompiledExpression | None = None
    weights: Weights = Weights()
    split: SplitPolicy = SplitPolicy.LINE_COMPLETE
    min_split_quantity: int = 1


@dataclass(frozen=True, slots=True)
class DemandClassRule:
    """A demand class; requests meeting ``when`` belong to it (None: only when a request names it)."""

    name: str
    when: CompiledExpression | None = None


@dataclass(frozen=True, slots=True)
class ClassShare:
    """A share of supply protected for one demand class until its release date."""

    demand_class: str
    share: Decimal
    release_after_days: int | None = None
    release_on: dt.date | None = None

    def release_date(self, supply_on: dt.date) -> dt.date | None:
        """When units of supply usable on ``supply_on`` become usable by every class.

        >>> ClassShare("key-accounts", Decimal("0.3"), release_after_days=14).release_date(dt.date(2026, 12, 1))
        datetime.date(2026, 12, 15)
        """
        dates = []
        if self.release_after_days is not None:
            dates.append(supply_on + dt.timedelta(days=self.release_after_days))
        if self.release_on is not None:
            dates.append(max(supply_on, self.release_on))
        return min(dates) if dates else None


@dataclass(frozen=True, slots=True)
class AllocationRule:
    """Protected shares for items (None: all) at locations (None: all); first match applies."""

    shares: tuple[ClassShare, ...]
    items: frozenset[str] | None = None
    locations: frozenset[str] | None = None

    def matches(self, item: str, location: str) -> bool:
        return (self.items is None or item in self.items) and (
            self.locations is None or location in self.locations)


def request_env(request: DemandRequest) -> dict[str, Any]:
    """The values conditions read, from a request (absent values are left out)."""
    env: dict[str, Any] = {
        "ship_to": {k: v for k, v in (("country", request.ship_to.country),
                                      ("region", request.ship_to.region),
                                      ("postal_code", request.ship_to.postal_code)) if v is not None},
        "customer": {k: v for k, v in (("id", request.customer),
                                       ("segment", request.customer_segment)) if v is not None},
        "order": {"reference": request.reference, "lines": len(request.lines),
                  "quantity": sum(line.quantity for line in request.lines)},
    }
    if request.channel is not None:
        env["channel"] = request.channel
    return env


def _holds(rule_name: str, condition: CompiledExpression | None, env: Mapping[str, Any]) -> bool:
    if condition is None:
        return True
    try:
        return bool(condition.evaluate(env))
    except MissingValueError as exc:
        raise SourcingRuleError(
            f"rule `{rule_name}`: {exc.message} (condition `{condition.text}`); "
            "guard optional values with is_set(...), e.g. `is_set(customer.segment) and ...`") from None
    except RuleLanguageError as exc:
        raise SourcingRuleError(f"rule `{rule_name}`: {exc.message} (condition `{condition.text}`)") from None


@dataclass(frozen=True)
class PromisingRules:
    """Everything promising needs besides supply: compiled once, used for many requests."""

    ref: str = "inline"
    locations: Mapping[str, Location] = field(default_factory=dict)
    lanes: tuple[Lane, ...] = ()
    sourcing: tuple[SourcingRule, ...] = ()
    demand_classes: tuple[DemandClassRule, ...] = ()
    allocations: tuple[AllocationRule, ...] = ()
    items: Mapping[str, ItemPolicy] = field(default_factory=dict)
    default_mode: PromisingMode = PromisingMode.ATP
    default_atp_time_fence_days: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "locations", MappingProxyType(dict(self.locations)))
        object.__setattr__(self, "items", MappingProxyType(dict(self.items)))

    def policy(self, item: str) -> ItemPolicy:
        """The item's promising policy (the rules' default when the item is not listed)."""
        found = self.items.get(item)
        if found is not None:
            return found
        return ItemPolicy(item=item, mode=self.default_mode,
                          atp_time_fence_days=self.default_atp_time_fence_days)

    def shares(self, item: str, location: str) -> tuple[ClassShare, ...]:
        for rule in self.allocations:
            if rule.matches(item, location):
                return rule.shares
        return ()

    def lane(self, location: str, country: str) -> Lane | None:
        """The lane from ``location`` to ``country``: a lane naming the country wins over a catch-all."""
        fallback = None
        for lane in self.lanes:
            if lane.location != location:
                continue
            if lane.countries is None:
                fallback = fallback or lane
            elif country in lane.countries:
                return lane
        return fallback

    def classify(self, request: DemandRequest, env: Mapping[str, Any] | None = None) -> str:
        """The request's demand class: given explicitly, else the first matching rule, else the default."""
        if request.demand_class is not None:
            known = self.known_demand_classes
            if request.demand_class not in known:
                from rule_language import suggest

                hint = suggest(request.demand_class, sorted(known))
                raise PromisingInputError(
                    f"unknown demand class {request.demand_class!r}"
                    + (f"; {hint}" if hint else f"; known: {', '.join(sorted(known))}"), ("demand_class",))
            return request.demand_class
        env = request_env(request) if env is None else env
        for rule in self.demand_classes:  # a class without a condition is only ever named explicitly
            if rule.when is not None and _holds(rule.name, rule.when, env):
                return rule.name
        return DEFAULT_DEMAND_CLASS

    @property
    def known_demand_classes(self) -> frozenset[str]:
        """Classes a request may name: declared ones, those with a share, and the default."""
        return frozenset({DEFAULT_DEMAND_CLASS, *(c.name for c in self.demand_classes),
                          *(s.demand_class for a in self.allocations for s in a.shares)})

    def sourcing_rule(self, request: DemandRequest, env: Mapping[str, Any] | None = None) -> SourcingRule:
        """The first sourcing rule whose condition holds for the request."""
        env = request_env(request) if env is None else env
        for rule in self.sourcing:
            if _holds(rule.name, rule.when, env):
                return rule
        raise SourcingRuleError(
            f"no sourcing rule of {self.ref} matches ship_to.country={request.ship_to.country!r}; "
            "add a last rule without `when` as the fallback")

    def location(self, location_id: str) -> Location:
        found = self.locations.get(location_id)
        if found is None:
            from rule_language import suggest

            hint = suggest(location_id, list(self.locations))
            raise UnknownNameError(f"unknown location {location_id!r}" + (f"; {hint}" if hint else ""))
        return found
