"""SQL storage behaves like the in-memory reference: atomic, version-checked, lossless — on both databases."""

from __future__ import annotations

import multiprocessing
from decimal import Decimal

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from oms_host.host import Host, open_host
from oms_host.storage import Database, SqlReservationStore, SqlUnitOfWork
from oms_host.storage import orders as orders_module
from oms_host.storage.schema import metadata, order_lines, orders, promise_reservations, supply_commitments
from order_management import (
    ConcurrentUpdateError,
    DuplicateOrderError,
    LineStatus,
    Order,
    OrderInput,
    OrderNotFoundError,
    OrderStatus,
    OrderValidationError,
    SupplyPromiser,
    check_availability,
)
from order_management import commands as cmd
from order_management.promising import SupplyPosition
from tests.oms_host.conftest import CUSTOMERS, RULESETS, SUPPLY, draft


@pytest.fixture(scope="module")
def bundle():
    from oms_host.kinds import all_kinds
    from rule_language import load_ruleset_dir

    return load_ruleset_dir(RULESETS, all_kinds())


@pytest.fixture
def host(db: Database, bundle, clock) -> Host:
    host = open_host(db.url, bundle=bundle, clock=clock, migrate=False)
    host.customers.put_many(CUSTOMERS)
    host.put_supply(SUPPLY)
    return host


def capture(host: Host, order: dict, actor: str = "a"):
    """Capture through the host's bus, as every entry point does."""
    kind = cmd.ImportOrder if order.get("source_system") else cmd.CaptureOrder
    return host.bus.handle(kind(actor=actor, order=OrderInput.model_validate(order)))


def cancel(host: Host, order_id: str, actor: str, reason: str) -> None:
    host.bus.handle(cmd.CancelOrder(actor=actor, order_id=order_id, reason=reason))


def _count(db: Database, table: sa.Table) -> int:
    with db.read() as connection:
        return connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_migrations_create_exactly_the_schema_the_code_declares(db: Database) -> None:
    db.migrate()  # a second run changes nothing
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                       metadata)
    assert differences == []
    assert db.current_revision() == ScriptDirectory.from_config(db.alembic_config()).get_current_head()


def test_a_captured_order_reads_back_exactly_as_it_was_stored(host: Host) -> None:
    result = capture(host, draft(), actor="desk:anna")
    with host.unit_of_work() as uow:
        stored = uow.orders.get(result.order.order_id)
    assert stored.order == result.order
    assert stored.revisions == result.record.revisions
    assert stored.promises == result.record.promises
    assert stored.pricing.total == result.record.pricing.total
    assert stored.pricing.line_net == result.record.pricing.line_net
    assert stored.pricing.priced == result.record.pricing.priced  # the full waterfall
    assert stored.order.status == OrderStatus.BOOKED


def test_a_revision_appends_to_the_history_with_its_field_changes(host: Host) -> None:
    order_id = capture(host, draft(), actor="desk:anna").order.order_id
    lines = [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "2"},
             {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]
    revised = host.bus.handle(cmd.ReviseOrder(actor="desk:ben", order_id=order_id, expected_version=1,
                                              changes={"lines": lines, "notes": "call first"},
                                              reason="customer call"))
    with host.unit_of_work() as uow:
        stored = uow.orders.get(order_id)
    assert [r.version for r in stored.revisions] == [1, 2]
    assert stored.revisions == revised.record.revisions
    assert {str(c) for c in stored.revisions[1].changes} >= {"lines[0].quantity: 1 → 2", "notes: added 'call first'"}
    assert stored.revisions[1].actor == "desk:ben"


def test_a_stale_version_cannot_overwrite_a_newer_one(host: Host) -> None:
    record = capture(host, draft()).record
    with host.unit_of_work() as uow:
        uow.orders.update(record, expected_version=1)
        uow.commit()  # same version: accepted
    with host.unit_of_work() as uow, pytest.raises(ConcurrentUpdateError, match="version 1, not 7"):
        uow.orders.update(record, expected_version=7)  # refused when staged (or, if raced, at commit)
        uow.commit()
    with host.unit_of_work() as uow, pytest.raises(OrderNotFoundError):
        uow.orders.update(record.__class__(record.order.model_copy(update={"order_id": "SO-NOPE"}),
                                           record.revisions), expected_version=1)
        uow.commit()


def test_an_imported_order_is_created_once(host: Host) -> None:
    first = capture(host, draft(source_system="shop", external_ref="A-1"), actor="api:shop")
    again = capture(host, draft(source_system="shop", external_ref="A-1"), actor="api:shop")
    assert first.created and not again.created
    assert again.order.order_id == first.order.order_id
    with host.unit_of_work() as uow, pytest.raises(DuplicateOrderError):
        uow.orders.add(first.record)
    assert _count(host.db, orders) == 1


def test_a_crash_in_the_middle_of_the_save_leaves_no_half_written_order(host: Host, monkeypatch) -> None:
    def explode(record, after_version):
        raise RuntimeError("power cut")

    monkeypatch.setattr(orders_module, "_revision_rows", explode)  # fails after the order row is inserted
    with pytest.raises(RuntimeError, match="power cut"):
        capture(host, draft())
    assert _count(host.db, orders) == 0
    assert _count(host.db, order_lines) == 0
    assert _count(host.db, promise_reservations) == 0  # the unit of work rolled the reservations back
    assert _count(host.db, supply_commitments) == 0


def test_a_rejected_order_stores_and_reserves_nothing(host: Host) -> None:
    with pytest.raises(OrderValidationError) as caught:
        capture(host, draft(customer_id="C-400"))
    assert [p.path for p in caught.value.problems] == ["customer_id"]
    assert _count(host.db, orders) == 0
    assert _count(host.db, promise_reservations) == 0


def test_search_filters_by_status_customer_and_channel(host: Host) -> None:
    capture(host, draft())
    capture(host, draft(channel="store", lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"}]))
    cancelled = capture(host, draft(customer_id="C-300", ship_to={"name": "W", "address": {"country": "FR"}},
                                    lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "3"}]))
    cancel(host, cancelled.order.order_id, "a", "changed mind")
    with host.unit_of_work() as uow:
        assert len(uow.orders.search()) == 3
        assert [r.order.channel for r in uow.orders.search(channel="store")] == ["store"]
        assert [r.order_id for r in uow.orders.search(status=OrderStatus.CANCELLED)] == [cancelled.order.order_id]
        assert len(uow.orders.search(customer_id="C-100")) == 2
        assert len(uow.orders.search(limit=1)) == 1


def test_order_ids_are_drawn_once_each(host: Host) -> None:
    uow = host.unit_of_work()  # drawn before the unit of work begins, each in a short transaction of its own
    ids = [uow.orders.next_order_id() for _ in range(5)]
    assert ids == [f"SO-{n:06d}" for n in range(1, 6)]


def test_customers_are_found_by_id_and_by_name(host: Host) -> None:
    assert host.customers.get("C-200").credit_limit == Decimal("1000.00")
    assert [c.id for c in host.customers.search("köln")] == ["C-200"]
    assert host.customers.count() == 4
    with pytest.raises(LookupError, match="C-999"):
        host.customers.get("C-999")


def test_supply_is_reserved_backordered_and_given_back(host: Host) -> None:
    first = capture(host, draft(lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "3"}]))
    second = capture(host, draft(lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "1"}]))
    assert first.order.lines[0].status == LineStatus.RESERVED and first.order.lines[0].ship_from == "FR-LY"
    assert second.order.lines[0].status == LineStatus.BACKORDERED
    assert second.order.status == OrderStatus.BACKORDERED
    assert host.supply.reserved(("LOCK-U", "FR-LY")) == 3
    cancel(host, first.order.order_id, "a", "cancelled")
    assert host.supply.reserved(("LOCK-U", "FR-LY")) == 0
    assert host.supply.oversold() == 0


def test_a_configured_bike_is_checked_completed_and_built_to_order(host: Host) -> None:
    bike = {"line_id": "1", "kind": "configured", "sku": "BIKE-TRAIL", "product_model": "trail-bike",
            "quantity": "1", "options": {"frame_size": "L", "motor": True, "battery_wh": 500}}
    order = capture(host, draft(lines=[bike])).order
    assert order.lines[0].options["color"] == "matte-black"   # completed with the model's default
    with pytest.raises(OrderValidationError) as caught:
        capture(host, draft(lines=[{**bike, "options": {"frame_size": "S", "motor": True}}]))
    assert caught.value.problems[0].path.startswith("lines[0].options")


def test_what_if_availability_reserves_nothing(host: Host) -> None:
    promises = check_availability(OrderInput.model_validate(draft()), host.deps, host.unit_of_work())
    assert [p.status.value for p in promises] == ["reserved", "reserved"]
    assert _count(host.db, promise_reservations) == 0


def _capture_many(url: str, bundle, worker: int, count: int, queue) -> None:
    host = open_host(url, bundle=bundle, migrate=False)
    outcome = {"reserved": 0, "backordered": 0, "errors": 0}
    for n in range(count):
        try:
            result = capture(host, draft(source_system="proc", external_ref=f"{worker}-{n}",
                                         lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "1"}]),
                             actor=f"proc{worker}")
            outcome[result.order.lines[0].status.value] += 1
        except Exception:  # counted, not raised: the parent asserts on the totals
            outcome["errors"] += 1
    host.close()
    queue.put(outcome)


def test_several_processes_capturing_at_once_never_oversell(db: Database, bundle, clock) -> None:
    host = open_host(db.url, bundle=bundle, clock=clock, migrate=False)
    host.customers.put_many(CUSTOMERS)
    host.put_supply([SupplyPosition(item="LOCK-U", location="FR-LY", on_hand=10)])
    host.close()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    workers = [context.Process(target=_capture_many, args=(db.url, bundle, w, 8, queue)) for w in range(4)]
    for w in workers:
        w.start()
    outcomes = [queue.get(timeout=120) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    assert sum(o["errors"] for o in outcomes) == 0
    assert sum(o["reserved"] for o in outcomes) == 10
    assert sum(o["backordered"] for o in outcomes) == 22
    check = Database(db.url)
    store = SqlReservationStore(check)
    assert store.reserved(("LOCK-U", "FR-LY")) == 10 and store.oversold() == 0
    check.dispose()


def test_a_unit_of_work_without_writes_commits_nothing(db: Database) -> None:
    with SqlUnitOfWork(db) as uow:
        uow.commit()
    assert _count(db, orders) == 0


def test_a_reservation_orphaned_by_a_crash_between_reserve_and_save_is_released(host: Host, clock) -> None:
    kept = capture(host, draft(lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "1"}]))
    # reserve as capture does, then "crash" before the order is saved
    order = Order.model_validate(draft(order_id="SO-CRASHED", ship_to={"name": "x", "address": {"country": "FR"}},
                                       lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "2"}]))
    SupplyPromiser(host.supply, host.deps.sourcing).reserve(order, host.customers.get("C-100"), clock.now().date())
    assert host.supply.reserved(("LOCK-U", "FR-LY")) == 3
    assert host.release_orphaned_reservations() == []           # too young: it may be a capture in flight
    clock.advance(minutes=11)
    assert host.release_orphaned_reservations() == ["SO-CRASHED"]
    assert host.supply.reserved(("LOCK-U", "FR-LY")) == 1      # the saved order keeps its unit
    assert host.supply.get(kept.order.order_id).commitments


def test_an_order_id_already_stored_is_refused_at_commit_and_nothing_is_written(host: Host) -> None:
    first = capture(host, draft()).record
    with host.unit_of_work() as uow:
        uow.orders.add(first)
        with pytest.raises(DuplicateOrderError):
            uow.commit()
    assert _count(host.db, orders) == 1
