"""A split line that no warehouse can fully supply ships all it can and backorders only the rest.

Issue #10, finding 8: fourteen units asked with thirteen promisable gave five
promised and nine backordered. Under a ``split`` rule the planner placed the
parts it could ship on target, then looked for *one* location able to supply
the whole rest; finding none, it backordered all of the rest, although stock
at another warehouse, or a receipt at the same one, could have covered all
but one unit. The backordered rest is a part of its own too: it is either 0
or at least the rule's ``min_quantity`` (it ships as one part when supply comes).
"""

from __future__ import annotations

from order_management.promising import (
    DemandLine,
    InMemoryReservationStore,
    Lane,
    LineStatus,
    Location,
    PromisingRules,
    SourcingRule,
    SplitPolicy,
    check_availability,
    promise,
)
from tests.order_management.promising.builders import AS_OF, day, order, supply

#: Germany from Kassel (1 day) or Venlo (2 days), split in parts of any size.
SPLIT_ANY = PromisingRules(
    locations={"DE-KS": Location("DE-KS"), "NL-VE": Location("NL-VE")},
    lanes=(Lane("DE-KS", frozenset({"DE"}), 1), Lane("NL-VE", frozenset({"DE"}), 2)),
    sourcing=(SourcingRule("germany", ("DE-KS", "NL-VE"), split=SplitPolicy.SPLIT, min_split_quantity=1),),
    default_atp_time_fence_days=60,
)


def shipped(line) -> list[tuple[str, int, object]]:
    return [(s.location, s.quantity, s.ship_on) for s in line.shipments]


def test_fourteen_asked_with_thirteen_promisable_promises_thirteen_and_backorders_one():
    # Five in Kassel today, eight more arriving there in ten days: thirteen in all.
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 5, ("PO-1", 8, 10))])
    result = promise(store, order("DE-14", ("1", "LOCK-U", 14)), SPLIT_ANY, as_of=AS_OF, reservation_id="R-14")
    line = result.plan.line("1")
    assert shipped(line) == [("DE-KS", 5, AS_OF), ("DE-KS", 8, day(10))]
    assert (line.promised_quantity, line.backordered, line.status) == (13, 1, LineStatus.PARTIAL)
    assert sum(c.quantity for c in result.reservation.commitments) == 13


def test_the_rest_of_a_split_line_comes_from_a_warehouse_that_misses_the_date_rather_than_backorder():
    # Asked for tomorrow: only Kassel (1 day) can deliver on time; Venlo (2 days) has eight more.
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 5), supply("LOCK-U", "NL-VE", 8)])
    asked = DemandLine(line_id="1", item="LOCK-U", quantity=14, requested_on=day(1))
    line = check_availability(store, order("DE-15", asked), SPLIT_ANY, as_of=AS_OF).line("1")
    assert shipped(line) == [("DE-KS", 5, AS_OF), ("NL-VE", 8, AS_OF)]
    assert (line.promised_quantity, line.backordered) == (13, 1)
    assert "1 backordered" in line.reason


def test_under_the_sample_rules_the_backordered_rest_is_itself_a_part_of_at_least_two(rules):
    # Germany splits in parts of at least two: 5 now + 7 on the receipt, 2 backordered (not 13 + 1).
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 5, ("PO-1", 8, 10))])
    line = check_availability(store, order("DE-16", ("1", "LOCK-U", 14)), rules, as_of=AS_OF).line("1")
    assert shipped(line) == [("DE-KS", 5, AS_OF), ("DE-KS", 7, day(10))]
    assert (line.promised_quantity, line.backordered) == (12, 2)


def test_under_the_sample_rules_a_dated_line_takes_the_late_warehouse_for_the_rest(rules):
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 5), supply("LOCK-U", "NL-VE", 8)])
    asked = DemandLine(line_id="1", item="LOCK-U", quantity=14, requested_on=day(1))
    line = check_availability(store, order("DE-17", asked), rules, as_of=AS_OF).line("1")
    assert shipped(line) == [("DE-KS", 5, AS_OF), ("NL-VE", 7, AS_OF)]
    assert (line.promised_quantity, line.backordered) == (12, 2)


def test_a_part_gives_way_so_that_a_small_warehouse_can_still_ship_a_part_of_the_minimum(rules):
    # Eight asked, five in Kassel, two in Venlo: 4 + 2 and 2 backordered beats 5 and 3 backordered.
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 5), supply("LOCK-U", "NL-VE", 2)])
    line = check_availability(store, order("DE-18", ("1", "LOCK-U", 8)), rules, as_of=AS_OF).line("1")
    assert shipped(line) == [("DE-KS", 4, AS_OF), ("NL-VE", 2, AS_OF)]
    assert (line.promised_quantity, line.backordered) == (6, 2)


def test_with_nothing_on_hand_receipts_at_two_warehouses_are_both_promised(rules):
    # Nothing ships on target, and neither warehouse ever has fourteen: both receipts are used.
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 0, ("PO-1", 5, 10)),
                                      supply("LOCK-U", "NL-VE", 0, ("PO-2", 8, 20))])
    line = check_availability(store, order("DE-19", ("1", "LOCK-U", 14)), rules, as_of=AS_OF).line("1")
    assert shipped(line) == [("DE-KS", 5, day(10)), ("NL-VE", 7, day(20))]
    assert (line.promised_quantity, line.backordered, line.status) == (12, 2, LineStatus.PARTIAL)


def test_whole_lines_still_wait_for_the_date_all_fourteen_are_there(rules):
    # France takes whole lines: no part now, all fourteen when the receipt completes them.
    store = InMemoryReservationStore([supply("LOCK-U", "FR-LY", 5, ("PO-1", 9, 10))])
    line = check_availability(store, order("FR-14", ("1", "LOCK-U", 14), country="FR"), rules,
                              as_of=AS_OF).line("1")
    assert shipped(line) == [("FR-LY", 14, day(10))]
    short = InMemoryReservationStore([supply("LOCK-U", "FR-LY", 5, ("PO-1", 8, 10))])
    line = check_availability(short, order("FR-13", ("1", "LOCK-U", 14), country="FR"), rules,
                              as_of=AS_OF).line("1")
    assert (line.status, line.backordered) == (LineStatus.BACKORDERED, 14)
