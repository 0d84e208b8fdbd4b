"""Reservations never oversell, whatever the threads do.

Eight threads capture 1,000 orders between them for the same 100 units of a
SKU. Exactly 100 units end up reserved, every request gets a clean answer
(promised or backordered), and every reserved unit belongs to exactly one
returned promise.
"""

from __future__ import annotations

import sys
import threading
from collections import Counter

import pytest

from order_management.promising import InMemoryReservationStore, LineStatus, Promise, promise, release
from tests.order_management.promising.builders import AS_OF, order, supply

THREADS = 8
REQUESTS = 1_000
UNITS = 100


@pytest.fixture(autouse=True)
def frequent_thread_switches():
    """Switch threads every 10 µs instead of 5 ms, so snapshots and writes really interleave."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.mark.parametrize("country", ["FR", "DE"], ids=["whole-lines", "split-lines"])
def test_eight_threads_capturing_1000_orders_reserve_exactly_the_100_units_there_are(rules, country):
    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 60), supply("LOCK-U", "NL-VE", 40)])
    # quantities 3, 2, 1, 3, 2, 1, ...: every thread ends on single units, so the last unit finds a taker
    requests = [(f"SO-{i}", 3 - i % 3) for i in range(REQUESTS)]
    results: dict[str, Promise] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def capture(share: list[tuple[str, int]]) -> None:
        start.wait()
        for reference, quantity in share:
            try:
                results[reference] = promise(store, order(reference, ("1", "LOCK-U", quantity), country=country),
                                             rules, as_of=AS_OF, reservation_id=reference)
            except BaseException as exc:  # any error fails the test below
                errors.append(exc)

    threads = [threading.Thread(target=capture, args=(requests[t::THREADS],)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(results) == REQUESTS  # nobody got lost
    reserved = store.reserved(("LOCK-U", "DE-KS")) + store.reserved(("LOCK-U", "NL-VE"))
    assert reserved == UNITS
    # every reserved unit is in exactly one returned promise, and each answer adds up
    promised = sum(c.quantity for r in results.values() for c in r.reservation.commitments)
    assert promised == UNITS
    for reference, quantity in requests:
        line = results[reference].plan.line("1")
        assert line.promised_quantity + line.backordered == quantity
        assert line.status in (LineStatus.ON_TIME, LineStatus.PARTIAL, LineStatus.BACKORDERED)
    assert Counter(r.plan.line("1").status for r in results.values())[LineStatus.BACKORDERED] > 0
    for reference in results:
        if results[reference].reservation.commitments:
            release(store, reference)
    assert store.reserved(("LOCK-U", "DE-KS")) + store.reserved(("LOCK-U", "NL-VE")) == 0


def test_promises_quotes_and_releases_racing_each_other_lose_and_invent_nothing(rules):
    from order_management.promising import PlanNoLongerAvailableError, check_availability, reserve

    store = InMemoryReservationStore([supply("LOCK-U", "DE-KS", 100)])
    live: dict[str, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def work(thread: int) -> None:
        start.wait()
        for n in range(60):
            reference = f"T{thread}-{n}"
            request = order(reference, ("1", "LOCK-U", 1 + n % 3), country="FR")
            try:
                if n % 5 == 0:  # quote first, reserve what was quoted
                    quote = check_availability(store, request, rules, as_of=AS_OF)
                    try:
                        held = sum(c.quantity for c in reserve(store, quote, rules, as_of=AS_OF,
                                                               reservation_id=reference).commitments)
                    except PlanNoLongerAvailableError:
                        continue
                else:
                    result = promise(store, request, rules, as_of=AS_OF, reservation_id=reference)
                    held = sum(c.quantity for c in result.reservation.commitments)
                if n % 3 == 0 and held:  # the customer cancels
                    release(store, reference)
                    held = 0
                with lock:
                    live[reference] = held
            except BaseException as exc:  # any error fails the test below
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    reserved = store.reserved(("LOCK-U", "DE-KS"))
    assert reserved == sum(live.values()) <= UNITS
    # what the cancellations gave back can still be promised, down to the last unit
    for n in range(UNITS):
        promise(store, order(f"sweep-{n}", ("1", "LOCK-U", 1), country="FR"), rules, as_of=AS_OF,
                reservation_id=f"sweep-{n}")
    assert store.reserved(("LOCK-U", "DE-KS")) == UNITS


class _LockstepStore(InMemoryReservationStore):
    """Makes the first snapshot of each of two threads wait for the other: both plan on the same state."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.meeting = threading.Barrier(2)
        self.waited: set[int] = set()

    def snapshot(self, items):
        taken = super().snapshot(items)
        me = threading.get_ident()
        if me not in self.waited:
            self.waited.add(me)
            self.meeting.wait(timeout=10)
        return taken


def test_the_loser_of_a_compare_and_set_race_plans_again_and_gets_a_clean_backorder(rules):
    store = _LockstepStore([supply("LOCK-U", "DE-KS", 1)])
    results: dict[str, Promise] = {}

    def capture(name: str) -> None:
        results[name] = promise(store, order(name, ("1", "LOCK-U", 1)), rules, as_of=AS_OF, reservation_id=name)

    threads = [threading.Thread(target=capture, args=(n,)) for n in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # both planned the last unit on the same snapshot; the store let one write win
    assert sorted(r.attempts for r in results.values()) == [1, 2]
    winner = next(r for r in results.values() if r.attempts == 1)
    loser = next(r for r in results.values() if r.attempts == 2)
    assert winner.plan.line("1").status == LineStatus.ON_TIME
    assert loser.plan.line("1").status == LineStatus.BACKORDERED and loser.reservation.commitments == ()
    assert store.reserved(("LOCK-U", "DE-KS")) == 1
