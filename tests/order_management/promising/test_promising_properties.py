"""Properties of promising, checked against independent oracles.

- reserved never exceeds what supply allows, date by date (a brute-force
  cumulative check, not the planner's own arithmetic);
- a what-if never changes the store;
- nothing ships before ``as_of`` (nor earlier than needed for a requested date);
- the date promised from supply is the earliest feasible one;
- a line is promised exactly as many units as supply and the split policy
  allow (a brute-force search over every way to share it out);
- other demand classes use a protected share only after its release date,
  and a never-released share is always there for its class.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from order_management.promising import (
    AllocationRule,
    ClassShare,
    Commitment,
    DemandClassRule,
    DemandLine,
    DemandRequest,
    InMemoryReservationStore,
    Lane,
    Location,
    PlanNoLongerAvailableError,
    PromisingRules,
    Receipt,
    ShipTo,
    SourcingRule,
    SplitPolicy,
    SupplyPosition,
    availability_timeline,
    check_availability,
    coverage_gaps,
    promise,
    repromise,
    reserve,
)

AS_OF = dt.date(2026, 11, 25)
ITEM, WH = "SKU", "W1"


def rules_with(share: Decimal | None, release_after: int | None, split: SplitPolicy, transit: int,
               min_split: int = 1, fence: int | None = None) -> PromisingRules:
    allocations = () if share is None else (AllocationRule((ClassShare("vip", share, release_after),)),)
    return PromisingRules(
        locations={WH: Location(WH), "W2": Location("W2")},
        lanes=(Lane(WH, None, transit), Lane("W2", None, transit + 1)),
        sourcing=(SourcingRule("all", (WH, "W2"), split=split, min_split_quantity=min_split),),
        demand_classes=(DemandClassRule("vip"), DemandClassRule("web")),
        allocations=allocations,
        default_atp_time_fence_days=fence,
    )


receipts = st.lists(st.tuples(st.integers(1, 30), st.integers(-5, 40)), max_size=4).map(
    lambda rs: tuple(Receipt(id=f"PO-{i}", quantity=q, expected_on=AS_OF + dt.timedelta(days=d))
                     for i, (q, d) in enumerate(rs)))
positions = st.builds(
    lambda on_hand, ss, rs, on_hand2: (
        SupplyPosition(item=ITEM, location=WH, on_hand=on_hand, safety_stock=ss, receipts=rs),
        SupplyPosition(item=ITEM, location="W2", on_hand=on_hand2)),
    st.integers(0, 40), st.integers(0, 8), receipts, st.integers(0, 10))
demands = st.lists(
    st.tuples(st.sampled_from(["vip", "standard", "web"]), st.integers(1, 25),
              st.one_of(st.none(), st.integers(0, 50))),
    min_size=1, max_size=8)
policies = st.sampled_from(list(SplitPolicy))
shares = st.one_of(st.none(), st.decimals(Decimal("0.05"), Decimal("0.9"), places=2))
releases = st.one_of(st.none(), st.integers(0, 30))


def request(index: int, demand_class: str, quantity: int, requested: int | None) -> DemandRequest:
    requested_on = None if requested is None else AS_OF + dt.timedelta(days=requested)
    return DemandRequest(reference=f"SO-{index}", demand_class=demand_class, ship_to=ShipTo(country="DE"),
                         lines=(DemandLine(line_id="1", item=ITEM, quantity=quantity, requested_on=requested_on),))


multi_line_orders = st.lists(
    st.tuples(st.sampled_from(["vip", "standard"]),
              st.lists(st.tuples(st.sampled_from([ITEM, "OTHER"]), st.integers(1, 15),
                                 st.one_of(st.none(), st.integers(0, 30))), min_size=1, max_size=4)),
    min_size=1, max_size=5)


def multi_request(index: int, demand_class: str, lines) -> DemandRequest:
    return DemandRequest(
        reference=f"SO-{index}", demand_class=demand_class, ship_to=ShipTo(country="DE"),
        lines=tuple(DemandLine(line_id=str(n), item=item, quantity=qty,
                               requested_on=None if req is None else AS_OF + dt.timedelta(days=req))
                    for n, (item, qty, req) in enumerate(lines)))


def oracle_fits(position: SupplyPosition, commitments, fence: int | None = None) -> bool:
    """Brute force, one pool: by every date, units shipped ≤ supply arrived − safety stock.

    With a fence, supply arriving after it backs nothing: a shipment after the
    fence counts as due at the fence.
    """
    end = dt.date.max if fence is None else AS_OF + dt.timedelta(days=fence)
    dates = {AS_OF} | {c.ship_on for c in commitments} | {max(r.expected_on, AS_OF) for r in position.receipts}
    if fence is not None:
        dates.add(end)  # the day shipments beyond the fence are due, before later receipts arrive
    for day in sorted(dates):
        arrived = position.on_hand + sum(r.quantity for r in position.receipts if max(r.expected_on, AS_OF) <= day)
        shipped = sum(c.quantity for c in commitments if min(c.ship_on, end) <= day)
        if shipped > arrived - position.safety_stock and shipped > 0:
            return False
    return True


@given(positions, demands, policies, shares, releases, st.integers(0, 3))
def test_reservations_never_exceed_supply_date_by_date(pos, wanted, policy, share, release_after, transit):
    rules = rules_with(share, release_after, policy, transit, min_split=2)
    store = InMemoryReservationStore(pos)
    for i, (cls, qty, req) in enumerate(wanted):
        promise(store, request(i, cls, qty, req), rules, as_of=AS_OF, reservation_id=f"R-{i}")
    snapshot = store.snapshot([ITEM])
    for position in pos:
        committed = snapshot.committed(position.key)
        assert sum(c.quantity for c in committed) <= position.total_supply
        assert oracle_fits(position, committed)
    assert coverage_gaps(snapshot, rules, AS_OF) == ()  # nothing changed under them: all covered


@given(positions, st.integers(0, 30), multi_line_orders, policies, shares, releases)
def test_orders_of_several_lines_never_count_a_unit_twice(pos, other_on_hand, orders, policy, share, release_after):
    rules = rules_with(share, release_after, policy, 1, min_split=2)
    other = SupplyPosition(item="OTHER", location="W2", on_hand=other_on_hand,
                           receipts=(Receipt(id="PO-x", quantity=5, expected_on=AS_OF + dt.timedelta(days=3)),))
    store = InMemoryReservationStore([*pos, other])
    for i, (cls, lines) in enumerate(orders):
        result = promise(store, multi_request(i, cls, lines), rules, as_of=AS_OF, reservation_id=f"R-{i}")
        for line, (_, qty, _) in zip(result.plan.lines, lines, strict=True):
            assert line.promised_quantity + line.backordered == qty
        if result.plan.split_policy == "ship_complete" and result.plan.fully_promised:
            assert len({s.ship_on for ln in result.plan.lines for s in ln.shipments}) == 1
            assert len({s.location for ln in result.plan.lines for s in ln.shipments}) == 1
    snapshot = store.snapshot([ITEM, "OTHER"])
    for position in (*pos, other):
        assert oracle_fits(position, snapshot.committed(position.key))


@given(positions, demands, policies, st.integers(0, 30))
def test_receipts_beyond_the_time_fence_back_no_promise(pos, wanted, policy, fence):
    rules = rules_with(None, None, policy, 1, min_split=2, fence=fence)
    store = InMemoryReservationStore(pos)
    for i, demand in enumerate(wanted):
        promise(store, request(i, *demand), rules, as_of=AS_OF, reservation_id=f"R-{i}")
    snapshot = store.snapshot([ITEM])
    for position in pos:
        assert oracle_fits(position, snapshot.committed(position.key), fence)


@given(positions, demands, st.lists(st.integers(0, 7), max_size=8), policies, shares, releases)
def test_quotes_reserved_late_either_fit_exactly_or_are_refused(pos, wanted, racing, policy, share, release_after):
    rules = rules_with(share, release_after, policy, 1, min_split=2)
    store = InMemoryReservationStore(pos)
    quotes = [check_availability(store, request(i, *d), rules, as_of=AS_OF) for i, d in enumerate(wanted)]
    for j, index in enumerate(racing):  # other orders get in first
        promise(store, request(100 + j, *wanted[index % len(wanted)]), rules, as_of=AS_OF, reservation_id=f"P-{j}")
    for i, quote in enumerate(quotes):
        before = store.snapshot([ITEM])
        try:
            reservation = reserve(store, quote, rules, as_of=AS_OF, reservation_id=f"Q-{i}")
        except PlanNoLongerAvailableError as refused:
            assert refused.shortfalls and all(units > 0 for *_, units in refused.shortfalls)
            assert store.snapshot([ITEM]).commitments == before.commitments  # nothing written
        else:
            assert reservation.commitments == quote.commitments
    snapshot = store.snapshot([ITEM])
    for position in pos:
        assert oracle_fits(position, snapshot.committed(position.key))
    assert coverage_gaps(snapshot, rules, AS_OF) == ()


@given(positions, multi_line_orders, policies, shares, releases)
def test_promising_an_unchanged_order_again_never_makes_it_worse(pos, orders, policy, share, release_after):
    rules = rules_with(share, release_after, policy, 1, min_split=2)
    store = InMemoryReservationStore(pos)
    requests = [multi_request(i, cls, lines) for i, (cls, lines) in enumerate(orders)]
    first = [promise(store, r, rules, as_of=AS_OF, reservation_id=f"R-{i}") for i, r in enumerate(requests)]
    for i, (request, before) in enumerate(zip(requests, first, strict=True)):
        again = repromise(store, request, rules, as_of=AS_OF, reservation_id=f"R-{i}")
        for old, new in zip(before.plan.lines, again.plan.lines, strict=True):
            assert new.promised_quantity >= old.promised_quantity
    snapshot = store.snapshot([ITEM, "OTHER"])
    for position in pos:
        assert oracle_fits(position, snapshot.committed(position.key))
    assert coverage_gaps(snapshot, rules, AS_OF) == ()


@given(positions, demands, shares, releases, st.sampled_from(["vip", "standard"]))
def test_the_availability_timeline_is_exactly_what_can_be_promised(pos, wanted, share, release_after, cls):
    rules = rules_with(share, release_after, SplitPolicy.LINE_COMPLETE, 0)
    store = InMemoryReservationStore([pos[0]])
    for i, demand in enumerate(wanted):
        promise(store, request(i, *demand), rules, as_of=AS_OF, reservation_id=f"R-{i}")
    snapshot = store.snapshot([ITEM])
    timeline = availability_timeline(snapshot, rules, ITEM, WH, cls, AS_OF)
    assert [units for _, units in timeline] == sorted(units for _, units in timeline)  # only grows
    for day, units in timeline:
        ask = day - AS_OF
        if units:
            plan = check_availability(store, request(90, cls, units, ask.days), rules, as_of=AS_OF)
            assert plan.lines[0].shipments[0].ship_on == day
        later = check_availability(store, request(91, cls, units + 1, ask.days), rules, as_of=AS_OF)
        assert not later.lines[0].shipments or later.lines[0].shipments[0].ship_on > day


@given(positions, demands, policies, shares, releases)
def test_check_availability_never_changes_the_store(pos, wanted, policy, share, release_after):
    rules = rules_with(share, release_after, policy, 1)
    store = InMemoryReservationStore(pos)
    promise(store, request(0, *wanted[0]), rules, as_of=AS_OF, reservation_id="R-0")
    before = store.snapshot([ITEM])
    for i, demand in enumerate(wanted):
        check_availability(store, request(i, *demand), rules, as_of=AS_OF)
    assert store.snapshot([ITEM]) == before


@given(positions, demands, policies, shares, releases, st.integers(0, 3))
def test_nothing_ships_before_as_of_nor_earlier_than_a_requested_date_needs(pos, wanted, policy, share,
                                                                             release_after, transit):
    rules = rules_with(share, release_after, policy, transit)
    store = InMemoryReservationStore(pos)
    for i, demand in enumerate(wanted):
        result = promise(store, request(i, *demand), rules, as_of=AS_OF, reservation_id=f"R-{i}")
        requested = result.plan.lines[0]
        assert all(c.ship_on >= AS_OF for c in result.plan.commitments)
        for shipment in requested.shipments:
            assert shipment.ship_on >= AS_OF
            assert shipment.deliver_on >= shipment.ship_on
            if demand[2] is not None:
                assert shipment.deliver_on >= AS_OF + dt.timedelta(days=demand[2]) or shipment.ship_on == AS_OF
        assert requested.promised_quantity + requested.backordered == demand[1]


@given(positions, demands, st.integers(1, 25))
def test_the_date_promised_from_supply_is_the_earliest_feasible(pos, earlier, quantity):
    rules = rules_with(None, None, SplitPolicy.LINE_COMPLETE, 0)
    position = pos[0]
    store = InMemoryReservationStore([position])
    for i, (_, qty, req) in enumerate(earlier):
        promise(store, request(i, "standard", qty, req), rules, as_of=AS_OF, reservation_id=f"R-{i}")
    committed = store.snapshot([ITEM]).committed(position.key)
    plan = check_availability(store, request(99, "standard", quantity, None), rules, as_of=AS_OF)
    line = plan.lines[0]
    if line.shipments:
        ship_on = line.shipments[0].ship_on
        assert oracle_fits(position, (*committed, *plan.commitments))
        probe = type(plan.commitments[0])
        for days in range((ship_on - AS_OF).days):
            sooner = probe("1", ITEM, WH, quantity, AS_OF + dt.timedelta(days=days), "standard")
            assert not oracle_fits(position, (*committed, sooner)), f"could have shipped {days} days after as_of"
    else:
        latest = max([AS_OF, *(max(r.expected_on, AS_OF) for r in position.receipts)])
        probe_date = latest + dt.timedelta(days=1)
        assert not oracle_fits(position, (*committed, Commitment("1", ITEM, WH, quantity, probe_date, "standard")))


@given(st.integers(0, 60), st.decimals(Decimal("0.1"), Decimal("0.9"), places=1), releases,
       st.lists(st.tuples(st.integers(1, 30), st.one_of(st.none(), st.integers(0, 40))), max_size=6), policies)
def test_other_classes_use_a_protected_share_only_after_its_release(on_hand, share, release_after, others, policy):
    rules = rules_with(share, release_after, policy, 0)
    store = InMemoryReservationStore([SupplyPosition(item=ITEM, location=WH, on_hand=on_hand)])
    for i, (qty, req) in enumerate(others):
        promise(store, request(i, "standard", qty, req), rules, as_of=AS_OF, reservation_id=f"R-{i}")
    protected = int(on_hand * share)
    released_on = None if release_after is None else AS_OF + dt.timedelta(days=release_after)
    taken_before_release = sum(c.quantity for c in store.snapshot([ITEM]).committed((ITEM, WH))
                               if released_on is None or c.ship_on < released_on)
    assert taken_before_release <= on_hand - protected
    if protected and release_after is None:  # never released: the class always finds its share today
        vip = promise(store, request(50, "vip", protected, None), rules, as_of=AS_OF, reservation_id="R-vip")
        [shipment] = vip.plan.lines[0].shipments
        assert (shipment.location, shipment.ship_on, shipment.quantity) == (WH, AS_OF, protected)


def oracle_available(position: SupplyPosition, commitments, fence: int | None) -> int:
    """Brute force: the most units one more shipment, as late as it likes, can take from ``position``."""
    late = AS_OF + dt.timedelta(days=1000)
    units = 0
    while oracle_fits(position, (*commitments, Commitment("?", ITEM, position.location, units + 1, late,
                                                          "standard")), fence):
        units += 1
    return units


def oracle_promisable(quantity: int, available: list[int], policy: SplitPolicy, minimum: int) -> int:
    """Brute force: the most units of a line the policy lets these locations promise.

    Whole lines: all of it from one location, or nothing (any policy allows
    these). Split: also every way of taking 0 or ``minimum``..``available``
    units from each location that leaves nothing or at least ``minimum``
    units to backorder.
    """
    if max(available) >= quantity:
        return quantity
    if policy != SplitPolicy.SPLIT:
        return 0
    totals = {0}
    for units in available:
        totals = {t + u for t in totals for u in (0, *range(minimum, units + 1)) if t + u <= quantity}
    return max(t for t in totals if t in (0, quantity) or quantity - t >= minimum)


#: Supply that often falls short of a line, at both locations, now and later.
scarce_receipts = st.lists(st.tuples(st.integers(1, 10), st.integers(-2, 40)), max_size=3)
scarce_positions = st.builds(
    lambda on_hand, ss, rs, on_hand2, rs2: (
        SupplyPosition(item=ITEM, location=WH, on_hand=on_hand, safety_stock=ss, receipts=rs),
        SupplyPosition(item=ITEM, location="W2", on_hand=on_hand2, receipts=rs2)),
    st.integers(0, 12), st.integers(0, 3), scarce_receipts.map(
        lambda rs: tuple(Receipt(id=f"PO-{i}", quantity=q, expected_on=AS_OF + dt.timedelta(days=d))
                         for i, (q, d) in enumerate(rs))),
    st.integers(0, 8), scarce_receipts.map(
        lambda rs: tuple(Receipt(id=f"PO-W2-{i}", quantity=q, expected_on=AS_OF + dt.timedelta(days=d))
                         for i, (q, d) in enumerate(rs))))


@given(scarce_positions, demands, policies, st.integers(1, 3), st.one_of(st.none(), st.integers(0, 30)),
       st.integers(0, 2))
def test_a_line_is_promised_all_that_supply_and_the_split_policy_allow(pos, wanted, policy, minimum, fence,
                                                                       transit):
    # Issue #10, finding 8: 14 asked with 13 promisable once gave 5 promised and 9 backordered.
    rules = rules_with(None, None, policy, transit, min_split=minimum, fence=fence)
    store = InMemoryReservationStore(pos)
    for i, (cls, qty, req) in enumerate(wanted):
        snapshot = store.snapshot([ITEM])
        available = [oracle_available(p, snapshot.committed(p.key), fence) for p in pos]
        result = promise(store, request(i, cls, qty, req), rules, as_of=AS_OF, reservation_id=f"R-{i}")
        line = result.plan.lines[0]
        assert line.promised_quantity == oracle_promisable(qty, available, policy, minimum), (available, line.reason)
        assert line.backordered == qty - line.promised_quantity
        parts = [s.quantity for s in line.shipments] + ([line.backordered] if line.backordered else [])
        if len(parts) > 1:  # split: no part, nor the backordered rest, below the minimum
            assert policy == SplitPolicy.SPLIT and min(parts) >= minimum, parts
