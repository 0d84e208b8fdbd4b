"""The promising package's ReservationStore contract, run against the SQL store on SQLite and PostgreSQL.

The contract tests are the order layer's own (one parametrised suite for every
implementation); this module runs each of them with ``store`` bound to a
:class:`~oms_host.storage.SqlReservationStore` on a fresh database.
"""

from __future__ import annotations

import pytest

from oms_host.storage import Database, SqlReservationStore
from order_management.promising import SupplyPosition
from tests.order_management.promising import test_promising_store_contract as contract

CONTRACT_TESTS = sorted(name for name in vars(contract) if name.startswith("test_"))
globals().update({name: getattr(contract, name) for name in CONTRACT_TESTS})
held = contract.held


@pytest.fixture
def store(db: Database) -> SqlReservationStore:
    store = SqlReservationStore(db)
    for position in (SupplyPosition(item="A", location="W1", on_hand=10),
                     SupplyPosition(item="A", location="W2", on_hand=5),
                     SupplyPosition(item="B", location="W1", on_hand=3)):
        store.put_supply(position)
    return store


def test_the_whole_contract_is_run_here() -> None:
    assert len(CONTRACT_TESTS) >= 8


def test_aggregated_snapshots_match_the_in_memory_store(store) -> None:
    from order_management.promising import InMemoryReservationStore, Reservation

    memory = InMemoryReservationStore([SupplyPosition(item="A", location="W1", on_hand=10),
                                       SupplyPosition(item="A", location="W2", on_hand=5),
                                       SupplyPosition(item="B", location="W1", on_hand=3)])
    for target in (store, memory):
        snap = target.snapshot(["A"])
        target.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 2), held("2", "A", "W2", 1))), snap.versions)
        snap = target.snapshot(["A"])
        target.reserve(Reservation("R2", "SO-2", (held("1", "A", "W1", 3),)), snap.versions)
    ours, theirs = store.snapshot(["A", "B"]), memory.snapshot(["A", "B"])
    assert dict(ours.commitments) == dict(theirs.commitments)
    assert dict(ours.versions) == dict(theirs.versions)
    assert dict(ours.positions) == dict(theirs.positions)
    assert store.get("R1") == memory.get("R1") and store.oversold() == 0
