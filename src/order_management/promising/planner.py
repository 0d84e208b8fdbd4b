"""Sourcing and promising an order (pure): which location ships each line, when, and why.

:func:`plan_promise` is a pure function of the request, a store snapshot, the
rules and ``as_of``. For every line it evaluates each candidate location of
the matching sourcing rule — the earliest ship date from its supply for the
request's demand class (ATP, inside the item's time fence), from its lead time
(CTP and make-to-order lines), or at once (services) — and picks:

1. the most preferred location that meets the target (the requested delivery
   date; without one, shipping today from stock), preference being the rule's
   ranking or its weighted score;
2. otherwise, under the ``split`` policy, what the preferred locations can
   ship on target (parts of at least ``min_split_quantity``), the rest from
   the location that delivers it earliest — or, when no one location can
   supply all of it, in parts from the locations that deliver them earliest;
3. otherwise the location that delivers the whole line earliest (ties: the
   more preferred); under ``ship_complete`` the same choice is made for the
   whole order at once, on one date;
4. if no location can ever supply the whole line (ATP items without enough
   supply inside the fence): under ``split``, the most the locations can
   supply together ships and only the rest is backordered; otherwise the
   whole line is backordered, with each location's reason.

A split line promises as many units as supply allows, with every part — and
the backordered rest, which ships as a part of its own later — either 0 or
at least ``min_split_quantity`` units: the units to place are fixed first
(:func:`_promisable`), then each part is as large as it can be while the rest
can still be placed (:func:`_part`).

Lines are placed in order against a private working copy of the supply, so
two lines of the same item never count one unit twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from .atp import ON_HAND, SupplyPicture, build_picture
from .models import DemandLine, DemandRequest, LeadTimeKind, PromisingMode
from .results import (
    AvailabilitySnapshot,
    Commitment,
    LinePromise,
    LineStatus,
    PlannedSupply,
    PromisePlan,
    Shipment,
    SupplySource,
)
from .rules import Lane, PromisingRules, SourcingRule, SourcingStrategy, SplitPolicy, request_env

__all__ = ["CoverageGap", "availability_timeline", "coverage_gaps", "plan_promise"]

_DAY = dt.timedelta(days=1)


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


@dataclass
class _Option:
    """One way to ship (part of) a line from one location."""

    location: str
    quantity: int
    ship_on: dt.date
    transit: int
    source: SupplySource
    supply_quantity: int
    planned_quantity: int = 0
    lead_time_kind: LeadTimeKind = LeadTimeKind.BUY
    refs: tuple[str, ...] = ()
    note: str = ""
    supply_by: dt.date | None = None  # the date the supply check used (None: the ship date)

    @property
    def deliver_on(self) -> dt.date:
        return self.ship_on + dt.timedelta(days=self.transit)


@dataclass
class _Context:
    request: DemandRequest
    snapshot: AvailabilitySnapshot
    rules: PromisingRules
    as_of: dt.date
    demand_class: str
    rule: SourcingRule
    lanes: dict[str, Lane]
    excluded: dict[str, str]
    pictures: dict[tuple[str, str], SupplyPicture] = field(default_factory=dict)
    scores: dict[str, Decimal] = field(default_factory=dict)
    commitments: list[Commitment] = field(default_factory=list)
    planned: list[PlannedSupply] = field(default_factory=list)

    def picture(self, item: str, location: str) -> SupplyPicture:
        key = (item, location)
        found = self.pictures.get(key)
        if found is None:
            found = build_picture(item, location, self.snapshot.position(key), self.snapshot.committed(key),
                                  self.rules.shares(item, location), self.as_of)
            self.pictures[key] = found
        return found


# -- evaluating one location -----------------------------------------------------------
def _desired_ship(ctx: _Context, line: DemandLine, transit: int) -> dt.date:
    if line.requested_on is None:
        return ctx.as_of
    return max(ctx.as_of, line.requested_on - dt.timedelta(days=transit))


def _option(ctx: _Context, line: DemandLine, location: str, quantity: int,
            picture: SupplyPicture | None = None) -> _Option | str:
    """The earliest way ``location`` can ship ``quantity`` of the line, or why it cannot."""
    transit = ctx.lanes[location].transit_days
    start = _desired_ship(ctx, line, transit)
    policy = ctx.rules.policy(line.item)
    if policy.mode == PromisingMode.INFINITE:
        return _Option(location, quantity, start, transit, SupplySource.UNLIMITED, 0)
    position = ctx.snapshot.position((line.item, location))
    if position is None:
        return f"{location} does not stock {line.item}"
    lead_time = line.lead_time_days if line.lead_time_days is not None else position.lead_time_days
    kind = position.lead_time_kind
    if line.make_to_order:
        if lead_time is None:
            return f"{location} has no lead time for {line.item}"
        ship = max(start, ctx.as_of + dt.timedelta(days=lead_time))
        return _Option(location, quantity, ship, transit, SupplySource.LEAD_TIME, 0, quantity, kind,
                       note=f"{kind.value} to order, {_days(lead_time)} lead time")
    picture = picture or ctx.picture(line.item, location)
    consumer = ctx.demand_class
    # The fence limits the supply an ATP promise may rely on (receipts later than it are too
    # uncertain), not the ship date: stock can still ship on a requested date beyond the fence.
    fence_end = (None if policy.atp_time_fence_days is None
                 else ctx.as_of + dt.timedelta(days=policy.atp_time_fence_days))
    lt_date = None
    until = fence_end
    if policy.mode == PromisingMode.CTP and lead_time is not None:
        lt_date = max(start, ctx.as_of + dt.timedelta(days=lead_time))
        until = lt_date if fence_end is None else min(fence_end, lt_date)
    day = picture.earliest(consumer, quantity, start if until is None else min(start, until), until)
    if day is not None:
        ship = max(day, start)
        ready = picture.earliest(consumer, quantity, ctx.as_of, until) or day
        if ready == ctx.as_of:
            return _Option(location, quantity, ship, transit, SupplySource.STOCK, quantity, supply_by=day)
        entering = picture.refs_entering(consumer, ready)
        arriving = [ref for ref, owner in entering if owner is None]
        released = [f"the {owner} share of {'stock' if ref == ON_HAND else ref}"
                    for ref, owner in entering if owner is not None]
        parts = []
        if arriving:
            parts.append(", ".join(arriving) + (" arrives" if len(arriving) == 1 else " arrive"))
        if released:
            parts.append(" and ".join(released) + " is released to every demand class")
        note = " and ".join(parts) + ("" if ready == ship else f" on {ready.isoformat()}")
        return _Option(location, quantity, ship, transit, SupplySource.SCHEDULED, quantity,
                       refs=tuple(dict.fromkeys(ref for ref, _ in entering)), note=note, supply_by=day)
    if lt_date is not None:
        from_supply = min(quantity, picture.available(consumer, until or lt_date))
        note = f"{kind.value} to order, {_days(lead_time or 0)} lead time"
        if from_supply:
            note = f"{from_supply} from supply, {quantity - from_supply} {note}"
        return _Option(location, quantity, lt_date, transit, SupplySource.LEAD_TIME, from_supply,
                       quantity - from_supply, kind, note=note, supply_by=until)
    if until is not None:
        have = picture.available(consumer, until)
    else:
        have = max(picture.available(consumer, d) for d in [start, *picture.usable_dates(consumer)])
    within = (f" within the ATP time fence ({_days(policy.atp_time_fence_days)})"
              if policy.atp_time_fence_days is not None else "")
    beyond = ""
    if fence_end is not None and (later := picture.earliest(consumer, quantity, fence_end)):
        refs = ", ".join(ref for ref, _ in picture.refs_entering(consumer, later))
        beyond = f" (enough from {later.isoformat()}" + (f", when {refs} arrives" if refs else "") + ")"
    return f"{location} has only {have} of {quantity} x {line.item}{within}{beyond}"


def _available_by(ctx: _Context, line: DemandLine, location: str, day: dt.date) -> int:
    """Units of the line ``location`` can ship on ``day`` (lead time counts once reached)."""
    option = _option(ctx, line, location, line.quantity)
    if isinstance(option, _Option) and option.ship_on <= day:
        return line.quantity
    policy = ctx.rules.policy(line.item)
    if line.make_to_order or ctx.snapshot.position((line.item, location)) is None:
        return 0
    fence_end = (None if policy.atp_time_fence_days is None
                 else ctx.as_of + dt.timedelta(days=policy.atp_time_fence_days))
    if fence_end is not None and day > fence_end:
        day = fence_end
    return ctx.picture(line.item, location).available(ctx.demand_class, day)


def _apply(ctx: _Context, line: DemandLine, option: _Option) -> Shipment:
    if option.supply_quantity:
        picture = ctx.picture(line.item, option.location)
        supply_by = option.ship_on if option.supply_by is None else min(option.supply_by, option.ship_on)
        for pool, units in picture.take(ctx.demand_class, option.supply_quantity, supply_by):
            ctx.commitments.append(Commitment(line.line_id, line.item, option.location, units, option.ship_on,
                                              ctx.demand_class, pool,
                                              None if supply_by == option.ship_on else supply_by))
    if option.planned_quantity:
        ctx.planned.append(PlannedSupply(line.line_id, line.item, option.location, option.planned_quantity,
                                         option.ship_on, option.lead_time_kind))
    return Shipment(option.location, option.quantity, option.ship_on, option.deliver_on, option.source,
                    option.refs)


# -- preference -------------------------------------------------------------------------
def _score(ctx: _Context, line: DemandLine, location: str) -> Decimal:
    weights, lane = ctx.rule.weights, ctx.lanes[location]
    utilisation = Decimal(0)
    if weights.utilisation and ctx.snapshot.position((line.item, location)) is not None:
        picture = ctx.picture(line.item, location)
        total = picture.total_supply
        utilisation = Decimal(picture.committed()) / total if total else Decimal(1)
    return (weights.transit_days * lane.transit_days + weights.cost * lane.cost_per_unit
            + weights.distance_km * (lane.distance_km or 0) + weights.utilisation * utilisation)


def _preferred(ctx: _Context, lines: Sequence[DemandLine]) -> list[str]:
    candidates = [loc for loc in ctx.rule.locations if loc in ctx.lanes]
    if ctx.rule.strategy == SourcingStrategy.RANKED:
        return candidates
    rank = {loc: i for i, loc in enumerate(candidates)}
    scores = {loc: sum((_score(ctx, line, loc) for line in lines), Decimal(0)) for loc in candidates}
    ctx.scores = scores
    return sorted(candidates, key=lambda loc: (scores[loc], rank[loc]))


def _meets(line: DemandLine, option: _Option, as_of: dt.date) -> bool:
    if line.requested_on is None:
        return option.ship_on <= as_of
    return option.deliver_on <= line.requested_on


# -- words ------------------------------------------------------------------------------
def _how(option: _Option, item: str) -> str:
    loc, ship = option.location, option.ship_on.isoformat()
    if option.source == SupplySource.STOCK:
        text = f"{option.quantity} from stock at {loc}, ships {ship}"
    elif option.source == SupplySource.SCHEDULED:
        text = f"{option.quantity} at {loc} when {option.note}, ships {ship}"
    elif option.source == SupplySource.LEAD_TIME:
        text = f"{option.quantity} at {loc} ({option.note}), ships {ship}"
    else:
        text = f"{option.quantity} {item} from {loc} (no stock needed), ships {ship}"
    return text + f", delivered {option.deliver_on.isoformat()} ({_days(option.transit)} in transit)"


def _why(ctx: _Context, preferred: Sequence[str], chosen: str, skipped: Iterable[str]) -> str:
    rule = ctx.rule
    order = "ranking" if rule.strategy == SourcingStrategy.RANKED else "score"
    position = preferred.index(chosen) + 1 if chosen in preferred else 0
    text = (f"{chosen} is first by the {order} of rule `{rule.name}`" if position == 1
            else f"{chosen} is #{position} by the {order} of rule `{rule.name}`")
    if rule.strategy == SourcingStrategy.SCORED and ctx.scores:
        text += " (" + ", ".join(f"{loc} {_plain(ctx.scores[loc])}" for loc in preferred) + ")"
    reasons = [s for s in skipped if s]
    if reasons:
        text += "; " + "; ".join(reasons)
    return text


def _plain(score: Decimal) -> str:
    return f"{score.quantize(Decimal('0.01')).normalize():f}"


def _status(line: DemandLine, shipments: Sequence[Shipment], backordered: int, as_of: dt.date) -> LineStatus:
    if not shipments:
        return LineStatus.BACKORDERED
    if backordered:
        return LineStatus.PARTIAL
    if line.requested_on is not None and max(s.deliver_on for s in shipments) > line.requested_on:
        return LineStatus.DELAYED
    return LineStatus.ON_TIME


def _not_meeting(option: _Option | str, line: DemandLine) -> str:
    if isinstance(option, str):
        return option
    if line.requested_on is not None:
        return (f"{option.location} cannot deliver before {option.deliver_on.isoformat()} "
                f"(requested {line.requested_on.isoformat()})")
    return f"{option.location} cannot ship before {option.ship_on.isoformat()}"


# -- one line -----------------------------------------------------------------------------
def _plan_line(ctx: _Context, line: DemandLine, preferred: list[str], split: bool) -> LinePromise:
    options: dict[str, _Option | str] = {}
    meeting = None
    for loc in preferred:  # in preference order, stopping at the first that meets the target
        options[loc] = found = _option(ctx, line, loc, line.quantity)
        if isinstance(found, _Option) and _meets(line, found, ctx.as_of):
            meeting = (loc, found)
            break
    if meeting is not None:
        loc, option = meeting
        skipped = [_not_meeting(options[p], line) for p in preferred[:preferred.index(loc)]]
        shipment = _apply(ctx, line, option)
        return LinePromise(line.line_id, line.item, line.quantity, _status(line, [shipment], 0, ctx.as_of),
                           (shipment,), 0, f"{_how(option, line.item)}; {_why(ctx, preferred, loc, skipped)}")
    valid = [(loc, o) for loc, o in options.items() if isinstance(o, _Option)]
    if split:
        promise = _plan_split(ctx, line, preferred)
        if promise is not None:
            return promise
    if valid:
        loc, option = min(valid, key=lambda lo: (lo[1].deliver_on, preferred.index(lo[0])))
        skipped = [_not_meeting(options[p], line) for p in preferred if p != loc]
        shipment = _apply(ctx, line, option)
        return LinePromise(line.line_id, line.item, line.quantity, _status(line, [shipment], 0, ctx.as_of),
                           (shipment,), 0,
                           f"{_how(option, line.item)}; earliest delivery; "
                           f"{_why(ctx, preferred, loc, skipped)}")
    if split:
        promise = _plan_partial(ctx, line, preferred)
        if promise is not None:
            return promise
    reasons = "; ".join([*(str(o) for o in options.values()), *ctx.excluded.values()])
    return LinePromise(line.line_id, line.item, line.quantity, LineStatus.BACKORDERED, (), line.quantity,
                       f"backordered: no location can supply {line.quantity} x {line.item}"
                       + (f": {reasons}" if reasons else ""))


def _plan_split(ctx: _Context, line: DemandLine, preferred: list[str]) -> LinePromise | None:
    """Parts on target from the preferred locations, the rest where it is delivered earliest.

    None when no preferred location can ship a part on target (the caller then
    looks for the location delivering the whole line earliest).
    """
    minimum = max(1, ctx.rule.min_split_quantity)
    if line.quantity < 2 * minimum:
        return None
    capacity = {loc: _capacity(ctx, line, loc) for loc in preferred}
    budget = _promisable(line.quantity, capacity.values(), minimum)
    chosen: list[tuple[_Option, Shipment]] = []
    for loc in preferred:
        if not budget:
            break
        transit = ctx.lanes[loc].transit_days
        day = _desired_ship(ctx, line, transit) if line.requested_on is not None else ctx.as_of
        others = [c for other, c in capacity.items() if other != loc]
        units = _part(budget, min(_available_by(ctx, line, loc, day), budget), minimum, others, capacity[loc])
        if not units:
            continue
        option = _option(ctx, line, loc, units)
        if isinstance(option, _Option) and _meets(line, option, ctx.as_of):
            chosen.append((option, _apply(ctx, line, option)))
            budget -= units
            capacity[loc] = _capacity(ctx, line, loc)
    if not chosen:
        return None
    texts = [_how(o, line.item) for o, _ in chosen]
    rest = _spread(ctx, line, preferred, budget, minimum)
    texts.extend(f"the remaining {_how(o, line.item)}" if i == 0 else f"then {_how(o, line.item)}"
                 for i, (o, _) in enumerate(rest))
    return _split_promise(ctx, line, minimum, [*chosen, *rest], texts)


def _plan_partial(ctx: _Context, line: DemandLine, preferred: list[str]) -> LinePromise | None:
    """No location can ever supply the whole line: ship the most the locations can, backorder the rest."""
    minimum = max(1, ctx.rule.min_split_quantity)
    budget = _promisable(line.quantity, [_capacity(ctx, line, loc) for loc in preferred], minimum)
    if not budget:
        return None
    parts = _spread(ctx, line, preferred, budget, minimum)
    return _split_promise(ctx, line, minimum, parts, [_how(o, line.item) for o, _ in parts])


def _split_promise(ctx: _Context, line: DemandLine, minimum: int, parts: list[tuple[_Option, Shipment]],
                   texts: list[str]) -> LinePromise:
    shipments = [s for _, s in parts]
    backordered = line.quantity - sum(s.quantity for s in shipments)
    if backordered:
        texts = [*texts, f"{backordered} backordered (no location can supply them)"]
    reason = f"split (parts of at least {minimum} under rule `{ctx.rule.name}`): " + "; ".join(texts)
    return LinePromise(line.line_id, line.item, line.quantity,
                       _status(line, shipments, backordered, ctx.as_of), tuple(shipments), backordered, reason)


def _spread(ctx: _Context, line: DemandLine, preferred: list[str], budget: int,
            minimum: int) -> list[tuple[_Option, Shipment]]:
    """Place ``budget`` units of the line, each part where it is delivered earliest.

    One location takes them all when it can (the earliest delivering one);
    otherwise parts of at least ``minimum`` go, one by one, to the location
    delivering its part earliest, each part as large as it can be while the
    rest can still be placed. ``budget`` must be placeable (see
    :func:`_promisable`); every unit of it is placed.
    """
    placed: list[tuple[_Option, Shipment]] = []
    while budget:
        whole = [(loc, o) for loc in preferred if isinstance(o := _option(ctx, line, loc, budget), _Option)]
        if whole:
            loc, option = min(whole, key=lambda lo: (lo[1].deliver_on, preferred.index(lo[0])))
            placed.append((option, _apply(ctx, line, option)))
            break
        capacity = {loc: _capacity(ctx, line, loc) for loc in preferred}
        parts = []
        for loc in preferred:
            others = [c for other, c in capacity.items() if other != loc]
            units = _part(budget, min(capacity[loc], budget), minimum, others, capacity[loc])
            if units and isinstance(option := _option(ctx, line, loc, units), _Option):
                parts.append((loc, option))
        if not parts:  # cannot happen while the budget is placeable
            raise AssertionError(f"{budget} x {line.item} cannot be placed")
        loc, option = min(parts, key=lambda lo: (lo[1].deliver_on, preferred.index(lo[0])))
        placed.append((option, _apply(ctx, line, option)))
        budget -= option.quantity
    return placed


def _capacity(ctx: _Context, line: DemandLine, location: str) -> int:
    """The most units of the line ``location`` can still promise (the whole line when lead time covers it)."""
    if isinstance(_option(ctx, line, location, line.quantity), _Option):
        return line.quantity
    return min(line.quantity, _most_available(ctx, line, location))


def _placeable(units: int, capacities: Iterable[int], minimum: int) -> bool:
    """Whether ``units`` can be shipped from locations of these capacities, in parts of at least ``minimum``.

    A location ships 0 or between ``minimum`` and its capacity, so ``k``
    locations reach every total from ``k × minimum`` to the sum of the ``k``
    largest capacities; the fewest locations that reach ``units`` decide.

    >>> _placeable(6, [5, 2], 2), _placeable(7, [5, 2], 2), _placeable(3, [5, 2], 2), _placeable(1, [5], 2)
    (True, True, True, False)
    """
    if units == 0:
        return True
    reach = 0
    for k, capacity in enumerate(sorted((c for c in capacities if c >= minimum), reverse=True), 1):
        reach += capacity
        if reach >= units:
            return k * minimum <= units
    return False


def _promisable(quantity: int, capacities: Iterable[int], minimum: int) -> int:
    """The most of ``quantity`` units locations of these capacities can ship in parts of at least ``minimum``.

    What is left over is backordered, and will ship as a part of its own: it
    is 0 or at least ``minimum`` as well.

    >>> _promisable(14, [5, 8], 1), _promisable(14, [5, 8], 2), _promisable(8, [5, 2], 2), _promisable(3, [2], 2)
    (13, 12, 6, 0)
    """
    capacities = list(capacities)
    if _placeable(quantity, capacities, minimum):
        return quantity
    most = min(quantity - minimum, sum(c for c in capacities if c >= minimum))
    return next((units for units in range(most, 0, -1) if _placeable(units, capacities, minimum)), 0)


def _part(budget: int, upper: int, minimum: int, others: Sequence[int], own: int) -> int:
    """The largest part (at most ``upper``) of a placeable ``budget`` that one location can take.

    The rest must stay placeable: on the other locations, or later on this one
    (its capacity ``own`` less the part). 0 when no part of at least ``minimum`` fits.
    """
    for units in range(upper, minimum - 1, -1):
        if _placeable(budget - units, [*others, own - units], minimum):
            return units
    return 0


def _most_available(ctx: _Context, line: DemandLine, location: str) -> int:
    """The most units of the line ``location`` could ever promise from supply (inside the fence)."""
    if line.make_to_order or ctx.snapshot.position((line.item, location)) is None:
        return 0
    picture = ctx.picture(line.item, location)
    fence = ctx.rules.policy(line.item).atp_time_fence_days
    if fence is not None:
        return picture.available(ctx.demand_class, ctx.as_of + dt.timedelta(days=fence))
    dates = picture.usable_dates(ctx.demand_class)
    return picture.available(ctx.demand_class, dates[-1]) if dates else 0


# -- ship complete ---------------------------------------------------------------------------
def _plan_complete(ctx: _Context, preferred: list[str]) -> tuple[LinePromise, ...]:
    lines = ctx.request.lines
    outcomes: dict[str, tuple[dt.date, list[_Option]] | str] = {}
    for loc in preferred:
        pictures: dict[tuple[str, str], SupplyPicture] = {}
        trial = _Context(ctx.request, ctx.snapshot, ctx.rules, ctx.as_of, ctx.demand_class, ctx.rule,
                         ctx.lanes, ctx.excluded, pictures)
        options: list[_Option] = []
        failure = ""
        for line in lines:
            option = _option(trial, line, loc, line.quantity)
            if isinstance(option, str):
                failure = option
                break
            _apply(trial, line, option)
            options.append(option)
        if failure:
            outcomes[loc] = failure
            continue
        outcomes[loc] = (max(o.ship_on for o in options), options)
    valid = [(loc, o) for loc, o in outcomes.items() if not isinstance(o, str)]
    if not valid:
        reasons = "; ".join([*(o for o in outcomes.values() if isinstance(o, str)), *ctx.excluded.values()])
        return tuple(LinePromise(line.line_id, line.item, line.quantity, LineStatus.BACKORDERED, (),
                                 line.quantity, f"backordered: no location can ship the whole order: {reasons}")
                     for line in lines)

    def meets_all(options: list[_Option], ship_on: dt.date) -> bool:
        return all(_meets(line, _Option(o.location, o.quantity, ship_on, o.transit, o.source, 0), ctx.as_of)
                   for line, o in zip(lines, options, strict=True))

    meeting = [(loc, v) for loc, v in valid if meets_all(v[1], v[0])]
    if meeting:
        loc, (ship_on, _) = meeting[0]
        note = "meets the requested date" if any(ln.requested_on for ln in lines) else "ships at once"
    else:
        loc, (ship_on, _) = min(valid, key=lambda lv: (lv[1][0] + dt.timedelta(days=ctx.lanes[lv[0]].transit_days),
                                                       preferred.index(lv[0])))
        note = "earliest complete delivery"
    skipped = [o if isinstance(o, str) else f"{p} cannot ship everything before {o[0].isoformat()}"
               for p, o in outcomes.items() if p != loc and preferred.index(p) < preferred.index(loc)]
    why = _why(ctx, preferred, loc, skipped)
    promises = []
    for line in lines:  # every line ships together, on the order's date
        option = _option(ctx, line, loc, line.quantity)
        if isinstance(option, str):  # cannot happen: the trial just placed it
            raise AssertionError(option)
        if option.ship_on < ship_on:  # wait for the rest of the order: same supply, later date
            if option.planned_quantity:
                fence = ctx.rules.policy(line.item).atp_time_fence_days
                usable = ship_on if fence is None else min(ship_on, ctx.as_of + dt.timedelta(days=fence))
                from_supply = min(line.quantity, ctx.picture(line.item, loc).available(ctx.demand_class, usable))
                option = replace(option, ship_on=ship_on, supply_quantity=from_supply,
                                 planned_quantity=line.quantity - from_supply, supply_by=usable)
            else:
                option = replace(option, ship_on=ship_on)
        shipment = _apply(ctx, line, option)
        promises.append(LinePromise(line.line_id, line.item, line.quantity,
                                    _status(line, [shipment], 0, ctx.as_of), (shipment,), 0,
                                    f"ship complete ({note}): {_how(option, line.item)}; {why}"))
    return tuple(promises)


# -- the entry point ---------------------------------------------------------------------------
def plan_promise(request: DemandRequest, snapshot: AvailabilitySnapshot, rules: PromisingRules,
                 as_of: dt.date) -> PromisePlan:
    """The best promise for every line of ``request``, without committing anything.

    Pure: same inputs, same plan. Shipments never start before ``as_of``;
    commitments only use supply the snapshot shows as free for the request's
    demand class. See the module docstring for how locations are chosen.
    """
    env = request_env(request)
    demand_class = rules.classify(request, env)
    rule = rules.sourcing_rule(request, env)
    lanes: dict[str, Lane] = {}
    excluded: dict[str, str] = {}
    for loc in rule.locations:
        lane = rules.lane(loc, request.ship_to.country)
        if lane is None:
            excluded[loc] = f"{loc} has no lane to {request.ship_to.country}"
        else:
            lanes[loc] = lane
    if request.ship_complete is True:
        split = SplitPolicy.SHIP_COMPLETE
    elif request.ship_complete is False and rule.split == SplitPolicy.SHIP_COMPLETE:
        split = SplitPolicy.LINE_COMPLETE
    else:
        split = rule.split
    ctx = _Context(request, snapshot, rules, as_of, demand_class, rule, lanes, excluded)
    if split == SplitPolicy.SHIP_COMPLETE:
        preferred = _preferred(ctx, request.lines)
        lines = _plan_complete(ctx, preferred)
    else:
        lines = tuple(_plan_line(ctx, line, _preferred(ctx, [line]), split == SplitPolicy.SPLIT)
                      for line in request.lines)
    return PromisePlan(request.reference, as_of, demand_class, rule.name, split.value, lines,
                       tuple(ctx.commitments), tuple(ctx.planned))


def availability_timeline(snapshot: AvailabilitySnapshot, rules: PromisingRules, item: str, location: str,
                          demand_class: str, as_of: dt.date) -> tuple[tuple[dt.date, int], ...]:
    """What ``demand_class`` could still be promised of ``item`` at ``location``, date by date.

    Each pair is (first ship date, units available for a shipment on or after
    it); the quantity only grows along the timeline. Supply beyond the item's
    ATP time fence is left out, as promising leaves it out. Pure.
    """
    key = (item, location)
    picture = build_picture(item, location, snapshot.position(key), snapshot.committed(key),
                            rules.shares(item, location), as_of)
    fence = rules.policy(item).atp_time_fence_days
    end = dt.date.max if fence is None else as_of + dt.timedelta(days=fence)
    dates = [as_of, *(d for d in picture.usable_dates(demand_class) if as_of < d <= end)]
    timeline: list[tuple[dt.date, int]] = []
    for day in dates:
        units = picture.available(demand_class, day)
        if not timeline or units != timeline[-1][1]:
            timeline.append((day, units))
    return tuple(timeline)


@dataclass(frozen=True, slots=True)
class CoverageGap:
    """Reserved units that supply no longer covers at one location (e.g. a receipt was cut)."""

    item: str
    location: str
    units: int
    first_ship_on: dt.date


def coverage_gaps(snapshot: AvailabilitySnapshot, rules: PromisingRules,
                  as_of: dt.date) -> tuple[CoverageGap, ...]:
    """Where existing reservations exceed supply, after supply changed under them (pure).

    Reservations never oversell when they are made; but stock can be lost and
    receipts cut or delayed afterwards. This replays every commitment of the
    snapshot in ship-date order (earlier shipments served first) against the
    current supply and reports, per item and location, the units that no
    longer fit and the first ship date affected: the orders to re-promise.
    """
    gaps = []
    for key in sorted(set(snapshot.positions) | set(snapshot.commitments)):
        picture = build_picture(key[0], key[1], snapshot.position(key), (), rules.shares(*key), as_of)
        missing, first = 0, None
        for c in sorted(snapshot.committed(key), key=lambda c: (c.ship_on, c.backed_by, c.demand_class)):
            units = min(c.quantity, picture.available(c.demand_class, c.backed_by))
            if units:
                picture.take(c.demand_class, units, c.backed_by)
            if units < c.quantity:
                missing += c.quantity - units
                first = first or c.ship_on
        if missing and first is not None:
            gaps.append(CoverageGap(key[0], key[1], missing, first))
    return tuple(gaps)
