"""Eight threads capture 1,000 orders for the same 100 units through one bus: exactly 100 are reserved."""

from __future__ import annotations

import sys
import threading
from collections import Counter

import pytest

from order_management import OrderInput, OrderStatus, bootstrap_in_memory
from order_management import commands as c
from order_management.fulfilment import Entity
from order_management.promising import SupplyPosition
from tests.order_management.support import CUSTOMERS, LYON, NOW


@pytest.fixture(autouse=True)
def frequent_thread_switches():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


@pytest.fixture
def scarce(bundle):
    """A bus whose only LOCK-U is 100 units in Lyon."""
    return bootstrap_in_memory(bundle, now=NOW, customers=CUSTOMERS,
                               supply=[SupplyPosition(item="LOCK-U", location=LYON, on_hand=100)])


def run_in_threads(count: int, work) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        start.wait()
        try:
            work(n)
        except BaseException as exc:  # any error fails the test that looks at it
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_concurrent_captures_never_oversell_and_lose_no_order(scarce) -> None:
    one_lock = OrderInput.model_validate({"customer_id": "C-100", "currency": "EUR",
                                          "lines": [{"line_id": "1", "sku": "LOCK-U", "quantity": "1"}]})

    def capture_many(thread: int) -> None:
        for _ in range(thread, 1_000, 8):
            scarce.handle(c.CaptureOrder(actor=f"thread:{thread}", order=one_lock))

    assert run_in_threads(8, capture_many) == []
    records = scarce.store.records
    assert len(records) == 1_000                                   # nothing lost
    assert len({r.order.order_id for r in records.values()}) == 1_000
    assert scarce.store.reservations.reserved(("LOCK-U", LYON)) == 100   # nothing oversold
    statuses = Counter(r.order.status for r in records.values())
    assert statuses == {OrderStatus.BOOKED: 100, OrderStatus.BACKORDERED: 900}
    booked = [r for r in records.values() if r.order.status == OrderStatus.BOOKED]
    assert all(r.promises[0].ship_from == ((LYON, 1),) for r in booked)
    captured = [e for e in scarce.store.audit if e.action == "captured"]
    assert len(captured) == 1_000                                  # one audit entry per committed capture
    assert scarce.failed_follow_ups == []


def test_the_same_import_captured_by_four_threads_lands_once_and_reserves_once(scarce) -> None:
    order = OrderInput.model_validate({"customer_id": "C-100", "currency": "EUR", "source_system": "edi",
                                       "external_ref": "PO-1",
                                       "lines": [{"line_id": "1", "sku": "LOCK-U", "quantity": "3"}]})
    results = []
    errors = run_in_threads(4, lambda n: results.append(scarce.handle(c.ImportOrder(actor=f"edi:{n}", order=order))))
    assert errors == []
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.order.order_id for r in results}) == 1
    assert len(scarce.store.records) == 1
    assert scarce.store.reservations.reserved(("LOCK-U", LYON)) == 3
    assert [e.action for e in scarce.store.audit if e.entity == Entity.ORDER] == ["captured"]
