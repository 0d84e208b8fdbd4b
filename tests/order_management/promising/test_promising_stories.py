"""Promising, told as stories a planner or a customer-service agent would recognise.

Every story runs on the sample rules of ``rulesets/order/sourcing.yaml`` (the Tarif
Outdoor shop: Kassel, Lyon and Venlo warehouses) and the in-memory store.
"""

from __future__ import annotations

import threading

import pytest

from order_management.promising import (
    COMMON_POOL,
    DemandLine,
    InMemoryReservationStore,
    LeadTimeKind,
    LineStatus,
    PlanNoLongerAvailableError,
    SupplySource,
    availability_timeline,
    check_availability,
    coverage_gaps,
    promise,
    release,
    reserve,
)
from tests.order_management.promising.builders import AS_OF, day, order, supply


# -- demand classes ---------------------------------------------------------------------------
def test_a_key_account_gets_its_protected_share_while_others_wait_for_the_next_receipt(rules):
    # Ten city bikes in Kassel, twenty more arriving in two weeks; 30 % of each delivery is
    # kept for key accounts (gold customers) for 14 days after it arrives.
    store = InMemoryReservationStore([supply("BIKE-CITY", "DE-KS", 10, ("PO-4711", 20, 14), lead_time_days=60)])

    web = promise(store, order("WEB-1", ("1", "BIKE-CITY", 7)), rules, as_of=AS_OF, reservation_id="R-web")
    assert web.plan.demand_class == "standard"
    assert web.plan.line("1").shipments[0].ship_on == AS_OF  # the 7 unprotected bikes

    walk_in = promise(store, order("WEB-2", ("1", "BIKE-CITY", 2)), rules, as_of=AS_OF, reservation_id="R-2")
    line = walk_in.plan.line("1")
    assert line.shipments[0].ship_on == day(14)  # must wait for PO-4711
    assert line.shipments[0].source == SupplySource.SCHEDULED
    assert "PO-4711 arrives" in line.reason

    key_account = promise(store, order("KA-1", ("1", "BIKE-CITY", 3), customer_segment="gold"), rules,
                          as_of=AS_OF, reservation_id="R-ka")
    assert key_account.plan.demand_class == "key-accounts"
    ka_line = key_account.plan.line("1")
    assert ka_line.status == LineStatus.ON_TIME
    assert ka_line.shipments[0].ship_on == AS_OF  # the protected three, from stock today
    assert {c.pool for c in key_account.reservation.commitments} == {"key-accounts"}


def test_an_unused_protected_share_is_released_to_everyone_after_its_release_days(rules):
    store = InMemoryReservationStore([supply("BIKE-CITY", "DE-KS", 10)])  # no receipts: 3 protected, 7 free
    snapshot = store.snapshot(["BIKE-CITY"])
    assert availability_timeline(snapshot, rules, "BIKE-CITY", "DE-KS", "standard", AS_OF) == (
        (AS_OF, 7), (day(14), 10))
    assert availability_timeline(snapshot, rules, "BIKE-CITY", "DE-KS", "key-accounts", AS_OF) == ((AS_OF, 10),)
    plan = check_availability(store, order("WEB-3", ("1", "BIKE-CITY", 9), country="FR"), rules, as_of=AS_OF)
    # France takes whole lines (line_complete): all 9 on the day the key-account share is released
    [shipment] = plan.line("1").shipments
    assert (shipment.location, shipment.ship_on) == ("DE-KS", day(14))
    assert "the key-accounts share of stock is released" in plan.line("1").reason


def test_key_accounts_cannot_take_more_than_protected_plus_common_supply(rules):
    store = InMemoryReservationStore([supply("BIKE-CITY", "DE-KS", 10)])
    plan = check_availability(store, order("KA-2", ("1", "BIKE-CITY", 10), customer_segment="gold"), rules,
                              as_of=AS_OF)
    pools = {c.pool: c.quantity for c in plan.commitments}
    assert pools == {"key-accounts": 3, COMMON_POOL: 7}  # own share first, then the common pool


# -- sourcing across warehouses ---------------------------------------------------------------------
def test_an_order_split_across_two_warehouses_gets_a_promised_date_per_line(rules):
    # A Belgian shop orders helmets and locks. Lyon (first for Benelux) has the helmets but no
    # locks; Venlo has locks. Each line ships whole from one warehouse (line_complete).
    store = InMemoryReservationStore([
        supply("HELMET-AERO", "FR-LY", 40),
        supply("LOCK-U", "FR-LY", 0, ("PO-88", 50, 20)),
        supply("LOCK-U", "NL-VE", 25),
    ])
    result = promise(store, order("BE-7", ("1", "HELMET-AERO", 12), ("2", "LOCK-U", 12), country="BE"),
                     rules, as_of=AS_OF, reservation_id="R-be7")
    helmets, locks = result.plan.line("1"), result.plan.line("2")
    assert [s.location for s in helmets.shipments] == ["FR-LY"]
    assert helmets.promised_on == day(2)  # ships today, two days Lyon → Belgium
    assert [s.location for s in locks.shipments] == ["NL-VE"]
    assert locks.promised_on == day(1)   # one day Venlo → Belgium
    assert "FR-LY cannot ship before" in locks.reason  # why the first-ranked warehouse lost
    assert result.plan.promised_on == day(2)
    assert store.reserved(("HELMET-AERO", "FR-LY")) == 12
    assert store.reserved(("LOCK-U", "NL-VE")) == 12


def test_a_requested_date_lets_the_preferred_warehouse_ship_from_its_next_receipt(rules):
    store = InMemoryReservationStore([supply("LOCK-U", "FR-LY", 0, ("PO-88", 50, 20)),
                                      supply("LOCK-U", "NL-VE", 25)])
    later = DemandLine(line_id="1", item="LOCK-U", quantity=12, requested_on=day(30))
    plan = check_availability(store, order("BE-8", later, country="BE"), rules, as_of=AS_OF)
    [shipment] = plan.line("1").shipments
    assert shipment.location == "FR-LY"  # first in the ranking, and its receipt is in time
    assert shipment.ship_on == day(28) and shipment.deliver_on == day(30)  # not shipped early
    assert plan.line("1").status == LineStatus.ON_TIME


def test_a_split_line_ships_what_is_on_hand_now_and_the_rest_from_another_warehouse(rules):
    # Germany allows splitting a line in parts of at least two; neither warehouse has twelve.
    store = InMemoryReservationStore([supply("HELMET-AERO", "DE-KS", 5), supply("HELMET-AERO", "NL-VE", 7)])
    plan = check_availability(store, order("DE-9", ("1", "HELMET-AERO", 12)), rules, as_of=AS_OF)
    line = plan.line("1")
    assert [(s.location, s.quantity, s.ship_on) for s in line.shipments] == [
        ("DE-KS", 5, AS_OF), ("NL-VE", 7, AS_OF)]
    assert line.promised_on == day(2) and line.backordered == 0


def test_no_split_when_one_warehouse_can_ship_the_whole_line_now(rules):
    store = InMemoryReservationStore([supply("HELMET-AERO", "DE-KS", 5), supply("HELMET-AERO", "NL-VE", 40)])
    line = check_availability(store, order("DE-9b", ("1", "HELMET-AERO", 12)), rules, as_of=AS_OF).line("1")
    assert [(s.location, s.quantity) for s in line.shipments] == [("NL-VE", 12)]
    assert "DE-KS has only 5 of 12" in line.reason


def test_a_split_never_leaves_a_part_below_the_minimum(rules):
    store = InMemoryReservationStore([supply("HELMET-AERO", "DE-KS", 9), supply("HELMET-AERO", "NL-VE", 5)])
    line = check_availability(store, order("DE-10", ("1", "HELMET-AERO", 10)), rules, as_of=AS_OF).line("1")
    assert [(s.location, s.quantity) for s in line.shipments] == [("DE-KS", 8), ("NL-VE", 2)]


def test_ship_complete_sends_the_whole_order_from_one_warehouse_on_one_date(rules):
    store = InMemoryReservationStore([
        supply("HELMET-AERO", "DE-KS", 40), supply("LOCK-U", "DE-KS", 0, ("PO-90", 30, 6)),
        supply("HELMET-AERO", "NL-VE", 2), supply("LOCK-U", "NL-VE", 30),
    ])
    plan = check_availability(store, order("MP-1", ("1", "HELMET-AERO", 4), ("2", "LOCK-U", 4),
                                            channel="marketplace"), rules, as_of=AS_OF)
    assert plan.split_policy == "ship_complete"
    assert {s.location for line in plan.lines for s in line.shipments} == {"DE-KS"}
    assert {s.ship_on for line in plan.lines for s in line.shipments} == {day(6)}  # helmets wait for locks
    assert all(c.ship_on == day(6) for c in plan.commitments)


def test_a_customer_asking_for_one_delivery_overrides_a_split_rule(rules):
    store = InMemoryReservationStore([supply("HELMET-AERO", "DE-KS", 5), supply("HELMET-AERO", "NL-VE", 40)])
    plan = check_availability(store, order("DE-11", ("1", "HELMET-AERO", 12), ship_complete=True), rules,
                              as_of=AS_OF)
    [shipment] = plan.line("1").shipments
    assert (shipment.location, shipment.quantity) == ("NL-VE", 12)


def test_a_destination_without_lanes_is_backordered_with_each_warehouse_reason(rules):
    store = InMemoryReservationStore([supply("HELMET-AERO", "DE-KS", 1)])
    plan = check_availability(store, order("DE-12", ("1", "HELMET-AERO", 3)), rules, as_of=AS_OF)
    line = plan.line("1")
    assert line.status == LineStatus.BACKORDERED and line.backordered == 3 and plan.commitments == ()
    assert "DE-KS has only 1 of 3 x HELMET-AERO within the ATP time fence (60 days)" in line.reason
    assert "NL-VE does not stock HELMET-AERO" in line.reason


# -- promising modes ---------------------------------------------------------------------------------
def test_a_configured_bike_whose_options_add_assembly_days_is_promised_later(rules):
    # The trail bike is assembled to order in Kassel: 10 days for the standard build. The
    # configurator says a custom paint adds 5 days; the capture service passes 15 as the line's
    # effective lead time.
    store = InMemoryReservationStore([supply("BIKE-TRAIL", "DE-KS", 0, lead_time_days=10,
                                             lead_time_kind=LeadTimeKind.MAKE)])
    standard = DemandLine(line_id="1", item="BIKE-TRAIL", quantity=1, make_to_order=True)
    painted = DemandLine(line_id="2", item="BIKE-TRAIL", quantity=1, make_to_order=True, lead_time_days=15)
    plan = check_availability(store, order("CFG-1", standard, painted), rules, as_of=AS_OF)
    assert plan.line("1").shipments[0].ship_on == day(10)
    assert plan.line("2").shipments[0].ship_on == day(15)
    assert plan.line("2").shipments[0].source == SupplySource.LEAD_TIME
    assert "make to order, 15 days lead time" in plan.line("2").reason
    assert [(p.line_id, p.quantity, p.available_on, p.lead_time_kind) for p in plan.planned] == [
        ("1", 1, day(10), LeadTimeKind.MAKE), ("2", 1, day(15), LeadTimeKind.MAKE)]
    assert plan.commitments == ()  # nothing taken from stock


def test_ctp_uses_stock_first_and_promises_the_rest_at_lead_time(rules):
    store = InMemoryReservationStore([supply("BIKE-TRAIL", "DE-KS", 3, ("PO-1", 10, 40), lead_time_days=10)])
    plan = check_availability(store, order("FR-1", ("1", "BIKE-TRAIL", 2), ("2", "BIKE-TRAIL", 5), country="FR"),
                              rules, as_of=AS_OF)
    assert plan.line("1").shipments[0].ship_on == AS_OF
    second = plan.line("2").shipments[0]
    # one bike is left in stock; the receipt in 40 days is later than the 10-day lead time, so
    # the line ships in 10 days: that bike and four bought to order
    assert (second.ship_on, second.source) == (day(10), SupplySource.LEAD_TIME)
    assert [(p.line_id, p.quantity) for p in plan.planned] == [("2", 4)]
    assert [(c.line_id, c.quantity, c.ship_on) for c in plan.commitments] == [("1", 2, AS_OF), ("2", 1, day(10))]


def test_atp_ignores_receipts_beyond_the_time_fence(rules):
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 0, ("PO-far", 100, 61)),
                                      supply("LOCK-U", "NL-VE", 0, ("PO-near", 100, 60))])
    line = check_availability(store, order("DE-13", ("1", "LOCK-U", 4)), rules, as_of=AS_OF).line("1")
    assert [(s.location, s.ship_on) for s in line.shipments] == [("NL-VE", day(60))]


def test_a_subscription_needs_no_stock_and_reserves_nothing(rules):
    store = InMemoryReservationStore()
    result = promise(store, order("SUB-1", ("1", "FLEET-PRO", 25)), rules, as_of=AS_OF, reservation_id="R-sub")
    line = result.plan.line("1")
    assert line.status == LineStatus.ON_TIME and line.shipments[0].source == SupplySource.UNLIMITED
    assert result.reservation.commitments == ()


def test_safety_stock_is_never_promised(rules):
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 10, safety_stock=4),
                                      supply("BOTTLE", "NL-VE", 0)])
    plan = check_availability(store, order("DE-14", ("1", "BOTTLE", 8)), rules, as_of=AS_OF)
    assert [(s.location, s.quantity) for s in plan.line("1").shipments] == [("DE-KS", 6)]
    assert plan.line("1").backordered == 2 and plan.line("1").status == LineStatus.PARTIAL
    assert plan.promised_on is None and not plan.fully_promised


def test_an_overdue_receipt_counts_as_arriving_today(rules):
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 0, ("PO-late", 10, -3))])
    [shipment] = check_availability(store, order("DE-15", ("1", "BOTTLE", 4)), rules, as_of=AS_OF).line("1").shipments
    assert shipment.ship_on == AS_OF


# -- what-if, commit, release --------------------------------------------------------------------------
def test_check_availability_changes_nothing(rules):
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 10)])
    before = store.snapshot(["BOTTLE"])
    check_availability(store, order("Q-1", ("1", "BOTTLE", 10)), rules, as_of=AS_OF)
    assert store.snapshot(["BOTTLE"]) == before


def test_a_quoted_plan_is_reserved_exactly_as_shown(rules):
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 10)])
    quote = check_availability(store, order("Q-2", ("1", "BOTTLE", 6)), rules, as_of=AS_OF)
    reservation = reserve(store, quote, rules, as_of=AS_OF, reservation_id="R-q2")
    assert reservation.commitments == quote.commitments
    assert store.reserved(("BOTTLE", "DE-KS")) == 6


def test_a_quoted_plan_whose_stock_was_sold_meanwhile_is_refused_with_the_lines_that_lost_it(rules):
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 10)])
    quote = check_availability(store, order("Q-3", ("1", "BOTTLE", 6)), rules, as_of=AS_OF)
    promise(store, order("Q-4", ("1", "BOTTLE", 7)), rules, as_of=AS_OF, reservation_id="R-fast")
    with pytest.raises(PlanNoLongerAvailableError) as refused:
        reserve(store, quote, rules, as_of=AS_OF, reservation_id="R-q3")
    assert refused.value.shortfalls == (("1", "BOTTLE", "DE-KS", 3),)
    assert store.reserved(("BOTTLE", "DE-KS")) == 7  # nothing of the refused plan was written


def test_releasing_a_line_gives_its_units_back_to_the_next_customer(rules):
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 10)])
    promise(store, order("SO-1", ("1", "BOTTLE", 6), ("2", "BOTTLE", 4)), rules, as_of=AS_OF, reservation_id="R-1")
    assert check_availability(store, order("SO-2", ("1", "BOTTLE", 3)), rules, as_of=AS_OF).line("1").backordered == 3
    released = release(store, "R-1", ["2"])
    assert sum(c.quantity for c in released.commitments) == 4
    assert store.get("R-1").commitments[0].quantity == 6
    assert check_availability(store, order("SO-2", ("1", "BOTTLE", 3)), rules, as_of=AS_OF).line("1").backordered == 0


def test_two_captures_racing_for_the_last_unit_give_one_success_and_one_clean_backorder(rules):
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 1)])
    start = threading.Barrier(2)
    results = {}

    def capture(name: str) -> None:
        start.wait()
        results[name] = promise(store, order(name, ("1", "LOCK-U", 1)), rules, as_of=AS_OF, reservation_id=name)

    threads = [threading.Thread(target=capture, args=(n,)) for n in ("A", "B")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    statuses = sorted(r.plan.line("1").status for r in results.values())
    assert statuses == [LineStatus.BACKORDERED, LineStatus.ON_TIME]
    assert store.reserved(("LOCK-U", "DE-KS")) == 1


def test_a_scored_rule_spares_a_warehouse_whose_stock_is_mostly_promised(rules):
    # To the US every warehouse is 4–5 days away; the rest-of-world rule scores transit days,
    # cost per unit and utilisation (share of the item's supply already promised).
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 100), supply("BOTTLE", "FR-LY", 100)])
    first = check_availability(store, order("US-1", ("1", "BOTTLE", 10), country="US"), rules, as_of=AS_OF)
    assert first.line("1").shipments[0].location == "DE-KS"  # 4 + 0.5 × 11.90 beats 4 + 0.5 × 12.50
    assert "(DE-KS 9.95, FR-LY 10.25, NL-VE 11.6)" in first.line("1").reason
    promise(store, order("DE-1", ("1", "BOTTLE", 80)), rules, as_of=AS_OF, reservation_id="R-de")
    second = check_availability(store, order("US-2", ("1", "BOTTLE", 10), country="US"), rules, as_of=AS_OF)
    assert second.line("1").shipments[0].location == "FR-LY"  # DE-KS: 9.95 + 2 × 0.8 = 11.55
    assert ("first by the score of rule `rest-of-world` (FR-LY 10.25, DE-KS 11.55, NL-VE 11.6)"
            in second.line("1").reason)


def test_stock_can_ship_on_a_requested_date_beyond_the_time_fence(rules):
    # The fence limits which receipts a promise may rely on, not how far ahead stock can be promised.
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 5, ("PO-far", 100, 80))])
    far = DemandLine(line_id="1", item="LOCK-U", quantity=4, requested_on=day(90))
    [shipment] = check_availability(store, order("DE-16", far), rules, as_of=AS_OF).line("1").shipments
    assert (shipment.ship_on, shipment.deliver_on, shipment.source) == (day(89), day(90), SupplySource.STOCK)
    too_many = DemandLine(line_id="1", item="LOCK-U", quantity=6, requested_on=day(90))
    line = check_availability(store, order("DE-17", too_many), rules, as_of=AS_OF).line("1")
    # PO-far lands beyond the 60-day fence: Germany splits, so 4 ship (a part of 1 is too small), 2 wait
    assert (line.status, line.promised_quantity, line.backordered) == (LineStatus.PARTIAL, 4, 2)
    whole = check_availability(store, order("FR-17", too_many, country="FR"), rules, as_of=AS_OF).line("1")
    assert (f"DE-KS has only 5 of 6 x LOCK-U within the ATP time fence (60 days) "
            f"(enough from {day(80).isoformat()}, when PO-far arrives)") in whole.reason


def test_a_later_requested_date_names_the_receipt_it_relies_on(rules):
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 0, ("PO-12", 30, 12))])
    later = DemandLine(line_id="1", item="LOCK-U", quantity=4, requested_on=day(21))
    line = check_availability(store, order("DE-18", later), rules, as_of=AS_OF).line("1")
    [shipment] = line.shipments
    assert (shipment.ship_on, shipment.source, shipment.supply_refs) == (day(20), SupplySource.SCHEDULED, ("PO-12",))
    assert f"when PO-12 arrives on {day(12).isoformat()}, ships {day(20).isoformat()}" in line.reason


def test_a_ctp_item_requested_beyond_its_lead_time_ships_from_stock(rules):
    store = InMemoryReservationStore([supply("BIKE-TRAIL", "DE-KS", 20, lead_time_days=10)])
    later = DemandLine(line_id="1", item="BIKE-TRAIL", quantity=2, requested_on=day(30))
    plan = check_availability(store, order("DE-19", later), rules, as_of=AS_OF)
    [shipment] = plan.line("1").shipments
    assert (shipment.ship_on, shipment.source) == (day(29), SupplySource.STOCK)
    assert plan.planned == ()


def test_under_a_split_rule_what_will_arrive_is_promised_and_only_the_rest_backordered(rules):
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 0, ("PO-5", 5, 10))])
    line = check_availability(store, order("DE-20", ("1", "LOCK-U", 8)), rules, as_of=AS_OF).line("1")
    assert [(s.quantity, s.ship_on) for s in line.shipments] == [(5, day(10))]
    assert (line.status, line.backordered) == (LineStatus.PARTIAL, 3)
    whole_lines = check_availability(store, order("FR-20", ("1", "LOCK-U", 8), country="FR"), rules,
                                     as_of=AS_OF).line("1")
    assert (whole_lines.status, whole_lines.backordered) == (LineStatus.BACKORDERED, 8)  # France: whole lines


def test_stock_lost_after_promising_shows_which_reservations_are_no_longer_covered(rules):
    store = InMemoryReservationStore([supply("BOTTLE", "DE-KS", 10)])
    promise(store, order("SO-1", ("1", "BOTTLE", 6)), rules, as_of=AS_OF, reservation_id="R-1")
    later = DemandLine(line_id="1", item="BOTTLE", quantity=3, requested_on=day(6))
    promise(store, order("SO-2", later), rules, as_of=AS_OF, reservation_id="R-2")
    assert coverage_gaps(store.snapshot(["BOTTLE"]), rules, AS_OF) == ()
    store.put_supply(supply("BOTTLE", "DE-KS", 7))  # a pallet was damaged: 3 bottles lost
    [gap] = coverage_gaps(store.snapshot(["BOTTLE"]), rules, AS_OF)
    assert (gap.item, gap.location, gap.units, gap.first_ship_on) == ("BOTTLE", "DE-KS", 2, day(5))


def test_a_revised_order_keeps_its_units_while_it_is_promised_again(rules):
    from order_management.promising import repromise

    store = InMemoryReservationStore([supply("LOCK-U", "FR-LY", 10)])
    promise(store, order("SO-A", ("1", "LOCK-U", 8), country="FR"), rules, as_of=AS_OF, reservation_id="R-A")
    competitor = check_availability(store, order("SO-B", ("1", "LOCK-U", 5), country="FR"), rules, as_of=AS_OF)
    assert competitor.line("1").status == LineStatus.BACKORDERED
    # the customer of SO-A adds one lock: the eight it holds count as free for its own revision
    more = repromise(store, order("SO-A", ("1", "LOCK-U", 9), country="FR"), rules, as_of=AS_OF,
                     reservation_id="R-A")
    assert more.plan.line("1").status == LineStatus.ON_TIME
    assert store.reserved(("LOCK-U", "FR-LY")) == 9
    # then cuts it to three: six go back to everyone else
    repromise(store, order("SO-A", ("1", "LOCK-U", 3), country="FR"), rules, as_of=AS_OF, reservation_id="R-A")
    assert [c.quantity for c in store.get("R-A").commitments] == [3]
    assert check_availability(store, order("SO-B", ("1", "LOCK-U", 5), country="FR"), rules,
                              as_of=AS_OF).line("1").status == LineStatus.ON_TIME
