"""Contract tests for the fulfilment Protocols: every implementation listed here must pass them.

The in-memory unit of work's repositories are listed here; the host app runs
the same tests on its SQL repositories (tests/oms_host/test_fulfilment_storage.py).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from order_management import ConcurrentUpdateError
from order_management.fulfilment import (
    AuditEvent,
    Entity,
    PaymentMethod,
    ProcessInstance,
    Stage,
    TestGateway,
)
from order_management.unit_of_work import InMemoryStore
from pricing_engine import Money


def _in_memory(name: str):  # type: ignore[no-untyped-def]
    """A repository of an open in-memory unit of work (writes land at once; the test thread holds its lock)."""
    def make():  # type: ignore[no-untyped-def]
        return getattr(InMemoryStore().unit_of_work().__enter__(), name)
    return make


GATEWAYS = [TestGateway]
PROCESS_REPOSITORIES = [_in_memory("processes")]
REPOSITORIES = [_in_memory("holds")]
AUDIT_TRAILS = [_in_memory("audit")]
EUR = lambda s: Money(Decimal(s), "EUR")  # noqa: E731
T0 = dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize("make", GATEWAYS)
@pytest.mark.parametrize("method", list(PaymentMethod))
def test_a_gateway_authorises_captures_and_refunds_idempotently(make, method) -> None:
    gateway = make()
    auth = gateway.authorise(method, EUR("40.00"), "k-auth")
    assert auth.approved and auth.reference
    assert gateway.authorise(method, EUR("40.00"), "k-auth") == auth          # same key, same answer
    if method == PaymentMethod.BANK_TRANSFER:
        gateway.funds_received(auth.reference)
    assert gateway.capture(auth.reference, EUR("40.00"), "k-cap").approved
    refund = gateway.refund(auth.reference, EUR("10.00"), "k-ref")
    assert refund.approved and gateway.refund(auth.reference, EUR("10.00"), "k-ref") == refund
    assert gateway.void(gateway.authorise(method, EUR("5.00"), "k-2").reference, "k-void").approved


@pytest.mark.parametrize("make", PROCESS_REPOSITORIES)
def test_a_process_repository_refuses_a_stale_write(make) -> None:
    repository = make()
    repository.put(ProcessInstance("SO-1", Stage.RUNNING, version=1), None)
    with pytest.raises(ConcurrentUpdateError):
        repository.put(ProcessInstance("SO-1", Stage.RUNNING, version=1), None)
    repository.put(ProcessInstance("SO-1", Stage.COMPLETED, version=2), 1)
    with pytest.raises(ConcurrentUpdateError):
        repository.put(ProcessInstance("SO-1", Stage.CANCELLED, version=2), 1)
    assert repository.find("SO-1").stage == Stage.COMPLETED and repository.find("SO-2") is None


@pytest.mark.parametrize("make", REPOSITORIES)
def test_a_repository_keeps_records_by_id_and_finds_them_by_order(make) -> None:
    repository = make()
    first, second = repository.next_id("HOLD"), repository.next_id("HOLD")
    assert first != second and first < second
    repository.put(first, "SO-1", "a")
    repository.put(second, "SO-2", "b")
    repository.put(first, "SO-1", "a2")
    assert repository.get(first) == "a2" and repository.for_order("SO-1") == ["a2"]
    with pytest.raises(LookupError):
        repository.get("HOLD-404")


@pytest.mark.parametrize("make", AUDIT_TRAILS)
def test_an_audit_trail_only_appends(make) -> None:
    trail = make()
    events = [AuditEvent(T0, "desk", Entity.HOLD, f"H-{n}", "placed", None, {"n": n}, "SO-1") for n in range(3)]
    trail.append(events[:2])
    trail.append(events[2:])
    trail.append([AuditEvent(T0, "desk", Entity.ORDER, "SO-2", "captured", None, {}, "SO-2")])
    assert trail.for_order("SO-1") == events and len(trail.all()) == 4


def test_supply_stock_levels_retry_a_restock_when_the_position_moved() -> None:
    from order_management import promising as pr
    from order_management.fulfilment import SupplyStockLevels

    class Busy(pr.InMemoryReservationStore):
        conflicts = 0

        def put_supply(self, position, expected_version=None):
            if self.conflicts:
                self.conflicts -= 1
                current = self.snapshot([position.item]).position(position.key)
                super().put_supply(current.model_copy(update={"on_hand": current.on_hand - 1}))  # someone else
                raise pr.VersionConflictError(((position.item, position.location),))
            return super().put_supply(position, expected_version)

    store = Busy([pr.SupplyPosition(item="LOCK-U", location="WH-LYON", on_hand=5)])
    store.conflicts = 1  # the next write finds the position moved
    SupplyStockLevels(store).restock("LOCK-U", "WH-LYON", Decimal(2))
    assert SupplyStockLevels(store).available("LOCK-U", "WH-LYON") == Decimal(6)  # their 5-1, then our +2
