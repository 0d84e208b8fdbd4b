"""The ReservationStore contract, run against every implementation.

A SQL store (a later issue) joins ``STORES`` and must pass the same tests:
versions start at 0 and move by one per write, compare-and-set refuses a
stale version and writes nothing, reservations are all-or-nothing, ids are
idempotency keys, releases give back exactly what they name, snapshots are
immutable, and the last-line guard refuses overselling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import pytest

from order_management.promising import (
    Commitment,
    DuplicateReservationError,
    InMemoryReservationStore,
    OversellError,
    PromisingInputError,
    Reservation,
    ReservationStore,
    SupplyPosition,
    UnknownNameError,
    VersionConflictError,
)

DAY = dt.date(2026, 11, 25)
STORES: dict[str, Callable[[Iterable[SupplyPosition]], ReservationStore]] = {
    "in-memory": InMemoryReservationStore,
}


@pytest.fixture(params=sorted(STORES))
def store(request) -> ReservationStore:
    return STORES[request.param]([
        SupplyPosition(item="A", location="W1", on_hand=10),
        SupplyPosition(item="A", location="W2", on_hand=5),
        SupplyPosition(item="B", location="W1", on_hand=3),
    ])


def held(line: str, item: str, location: str, quantity: int) -> Commitment:
    return Commitment(line, item, location, quantity, DAY, "standard")


def test_every_implementation_satisfies_the_protocol(store):
    assert isinstance(store, ReservationStore)


def test_versions_start_at_zero_and_move_by_one_per_write(store):
    snap = store.snapshot(["A", "C"])
    assert snap.version(("A", "W1")) == 1  # one put_supply
    assert snap.version(("C", "W9")) == 0  # never seen
    store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 2),)), snap.versions)
    assert store.snapshot(["A"]).version(("A", "W1")) == 2
    assert store.snapshot(["A"]).version(("A", "W2")) == 1  # untouched keys keep their version
    store.release("R1")
    assert store.snapshot(["A"]).version(("A", "W1")) == 3


def test_a_stale_version_writes_nothing_at_all(store):
    snap = store.snapshot(["A", "B"])
    store.reserve(Reservation("R1", "SO-1", (held("1", "B", "W1", 1),)), snap.versions)
    both = Reservation("R2", "SO-2", (held("1", "A", "W1", 2), held("2", "B", "W1", 1)))
    with pytest.raises(VersionConflictError) as conflict:
        store.reserve(both, snap.versions)
    assert conflict.value.keys == (("B", "W1"),)
    after = store.snapshot(["A", "B"])
    assert after.reserved(("A", "W1")) == 0 and after.reserved(("B", "W1")) == 1
    with pytest.raises(UnknownNameError):
        store.get("R2")


def test_a_key_missing_from_the_expected_versions_is_a_conflict(store):
    with pytest.raises(VersionConflictError):
        store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 1),)), {})


def test_a_reservation_id_is_used_once(store):
    snap = store.snapshot(["A"])
    store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 1),)), snap.versions)
    with pytest.raises(DuplicateReservationError):
        store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W2", 1),)), store.snapshot(["A"]).versions)


def test_the_last_line_guard_refuses_to_commit_more_than_the_supply(store):
    snap = store.snapshot(["A"])
    with pytest.raises(OversellError, match="11 units would be committed against a supply of 10"):
        store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 6), held("2", "A", "W1", 5))),
                      snap.versions)
    assert store.snapshot(["A"]).reserved(("A", "W1")) == 0


def test_a_commitment_below_one_unit_is_an_input_error(store):
    with pytest.raises(PromisingInputError, match=r"commitments\.0\.quantity"):
        store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 0),)), store.snapshot(["A"]).versions)


def test_releasing_some_lines_keeps_the_others(store):
    snap = store.snapshot(["A"])
    store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 2), held("2", "A", "W2", 3))), snap.versions)
    released = store.release("R1", ["2"])
    assert [(c.line_id, c.quantity) for c in released.commitments] == [("2", 3)]
    assert [(c.line_id, c.quantity) for c in store.get("R1").commitments] == [("1", 2)]
    assert store.snapshot(["A"]).reserved(("A", "W2")) == 0
    with pytest.raises(UnknownNameError, match="holds nothing for line"):
        store.release("R1", ["9"])
    store.release("R1")
    with pytest.raises(UnknownNameError, match="no reservation 'R1'"):
        store.release("R1")


def test_a_snapshot_is_an_immutable_value(store):
    snap = store.snapshot(["A"])
    store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 2),)), snap.versions)
    assert snap.reserved(("A", "W1")) == 0  # taken before the write, unchanged after it
    with pytest.raises(TypeError):
        snap.versions[("A", "W1")] = 99  # type: ignore[index]


def test_put_supply_with_compare_and_set(store):
    snap = store.snapshot(["A"])
    replacement = SupplyPosition(item="A", location="W1", on_hand=12)
    assert store.put_supply(replacement, expected_version=snap.version(("A", "W1"))) == 2
    with pytest.raises(VersionConflictError):
        store.put_supply(replacement, expected_version=snap.version(("A", "W1")))
    assert store.snapshot(["A"]).position(("A", "W1")).on_hand == 12


def test_replacing_a_reservation_swaps_it_atomically_and_frees_its_units_for_itself(store):
    snap = store.snapshot(["A", "B"])
    old = Reservation("R1", "SO-1", (held("1", "A", "W1", 8),))
    store.reserve(old, snap.versions)
    snap = store.snapshot(["A", "B"])
    new = Reservation("R1", "SO-1", (held("1", "A", "W1", 10), held("2", "B", "W1", 1)))
    store.reserve(new, snap.versions, replaces=old)  # 10 of 10 is fine: its own 8 were freed
    after = store.snapshot(["A", "B"])
    assert (after.reserved(("A", "W1")), after.reserved(("B", "W1"))) == (10, 1)
    assert after.version(("A", "W1")) == snap.version(("A", "W1")) + 1
    assert store.get("R1") == new


def test_replacing_a_reservation_that_changed_meanwhile_is_a_conflict(store):
    snap = store.snapshot(["A"])
    old = Reservation("R1", "SO-1", (held("1", "A", "W1", 2), held("2", "A", "W2", 1)))
    store.reserve(old, snap.versions)
    store.release("R1", ["2"])
    snap = store.snapshot(["A"])
    with pytest.raises(VersionConflictError):
        store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 3),)), snap.versions, replaces=old)
    assert store.snapshot(["A"]).reserved(("A", "W1")) == 2
    with pytest.raises(PromisingInputError, match="same id"):
        store.reserve(Reservation("R9", "SO-9", ()), snap.versions, replaces=store.get("R1"))


def test_replacing_checks_the_versions_of_the_keys_it_leaves(store):
    snap = store.snapshot(["A"])
    old = Reservation("R1", "SO-1", (held("1", "A", "W2", 2),))
    store.reserve(old, snap.versions)
    stale = store.snapshot(["A"])
    store.put_supply(SupplyPosition(item="A", location="W2", on_hand=6))  # W2 moves on
    with pytest.raises(VersionConflictError) as conflict:
        store.reserve(Reservation("R1", "SO-1", (held("1", "A", "W1", 1),)), stale.versions, replaces=old)
    assert conflict.value.keys == (("A", "W2"),)
