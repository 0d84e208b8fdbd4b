"""The fulfilment Protocols' contract tests, run against the SQL implementations on both databases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from oms_host.storage.fulfilment import SqlAuditTrail, SqlProcessRepository, SqlRepository, decode, encode
from order_management.fulfilment import (
    Approval,
    ApprovalStatus,
    AuditEvent,
    Entity,
    Hold,
    ProcessInstance,
    Stage,
)
from tests.order_management.fulfilment import test_contracts as contract

T0 = dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC)


def test_the_process_repository_contract(db) -> None:
    contract.test_a_process_repository_refuses_a_stale_write(lambda: SqlProcessRepository(db))


def test_the_record_repository_contract(db) -> None:
    contract.test_a_repository_keeps_records_by_id_and_finds_them_by_order(lambda: SqlRepository(db, "hold"))


def test_the_audit_trail_contract(db) -> None:
    contract.test_an_audit_trail_only_appends(lambda: SqlAuditTrail(db))


def test_records_of_each_kind_read_back_exactly(db) -> None:
    holds, approvals = SqlRepository(db, "hold"), SqlRepository(db, "approval")
    hold = Hold("HOLD-1", "SO-1", "credit check", "rule:credit", "system", T0)
    approval = Approval("APR-1", "SO-1", 2, ("discount of 15%",), "sales_director", T0,
                        ApprovalStatus.APPROVED, "vera", T0, "fine", Decimal("1507.14"))
    holds.put("HOLD-1", "SO-1", hold)
    approvals.put("APR-1", "SO-1", approval)
    assert holds.get("HOLD-1") == hold and approvals.for_order("SO-1") == [approval]
    assert holds.for_order("SO-1") == [hold]  # kinds do not mix
    instance = ProcessInstance("SO-1", Stage.RUNNING, errors=("x",), seen=("e-1",), version=3)
    assert decode(encode(instance)) == instance
    event = AuditEvent(T0, "desk", Entity.ORDER, "SO-1", "captured", None, {"total": "10.00"}, "SO-1")
    assert decode(encode(event)) == event


def test_enum_values_keep_their_type() -> None:
    from oms_host.storage.codec import decode_value, encode_value
    from order_management import OrderStatus

    assert type(decode(encode(Stage.RUNNING))) is Stage
    assert type(decode_value(encode_value(OrderStatus.BOOKED))) is OrderStatus
