"""Eight threads capture 1,000 orders for the same 100 units: exactly 100 are reserved."""

from __future__ import annotations

import sys
import threading
from collections import Counter

import pytest

from order_management import (
    FixedClock,
    InMemoryStore,
    OrderService,
    OrderStatus,
    RulesetPricer,
    SupplyPromiser,
    order_rules_from,
)
from order_management import promising as pr
from order_management.memory import InMemoryCustomers
from tests.order_management.conftest import CUSTOMERS, NOW

SOURCING = """\
kind: sourcing
name: race
version: 1
source: test data
locations: [{id: WH-LYON}]
lanes: [{from: WH-LYON, to: "*", transit_days: 2}]
rules: [{name: only, strategy: ranked, locations: [WH-LYON], split: {policy: split}}]
"""


@pytest.fixture(autouse=True)
def frequent_thread_switches():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(before)


def test_concurrent_captures_never_oversell_and_lose_no_order(bundle) -> None:
    supply = pr.InMemoryReservationStore([pr.SupplyPosition(item="LOCK-U", location="WH-LYON", on_hand=100)])
    orders = InMemoryStore()
    service = OrderService(
        rules=order_rules_from(bundle), customers=InMemoryCustomers(CUSTOMERS),
        unit_of_work=orders.unit_of_work, clock=FixedClock(NOW), pricer=RulesetPricer(bundle),
        promiser=SupplyPromiser(supply, pr.promising_rules_from_yaml(SOURCING)),
    )
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def capture(numbers: range) -> None:
        start.wait()
        for n in numbers:
            try:
                service.capture({"order_id": f"R-{n:04d}", "customer_id": "C-100", "currency": "EUR",
                                 "lines": [{"line_id": "1", "sku": "LOCK-U", "quantity": "1"}]}, actor="t")
            except BaseException as exc:  # any error fails the test below
                errors.append(exc)

    threads = [threading.Thread(target=capture, args=(range(t, 1_000, 8),)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(orders.records) == 1_000                      # nothing lost
    assert supply.reserved(("LOCK-U", "WH-LYON")) == 100    # nothing oversold
    statuses = Counter(r.order.status for r in orders.records.values())
    assert statuses == {OrderStatus.BOOKED: 100, OrderStatus.BACKORDERED: 900}
    reserved_orders = [r for r in orders.records.values() if r.order.status == OrderStatus.BOOKED]
    assert all(r.promises[0].ship_from == (("WH-LYON", 1),) for r in reserved_orders)


def test_the_same_import_captured_by_four_threads_lands_once_and_reserves_once(bundle) -> None:
    supply = pr.InMemoryReservationStore([pr.SupplyPosition(item="LOCK-U", location="WH-LYON", on_hand=100)])
    orders = InMemoryStore()
    service = OrderService(
        rules=order_rules_from(bundle), customers=InMemoryCustomers(CUSTOMERS),
        unit_of_work=orders.unit_of_work, clock=FixedClock(NOW), pricer=RulesetPricer(bundle),
        promiser=SupplyPromiser(supply, pr.promising_rules_from_yaml(SOURCING)),
    )
    start = threading.Barrier(4)
    results = []
    errors: list[BaseException] = []

    def capture() -> None:
        start.wait()
        try:
            results.append(service.capture({"customer_id": "C-100", "currency": "EUR", "source_system": "edi",
                                            "external_ref": "PO-1", "lines": [
                                                {"line_id": "1", "sku": "LOCK-U", "quantity": "3"}]}, actor="t"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=capture) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.order.order_id for r in results}) == 1
    assert len(orders.records) == 1
    assert supply.reserved(("LOCK-U", "WH-LYON")) == 3
