"""The handlers: one function per command, and the follow-ups each domain event asks for.

Each command handler takes its command, a fresh unit of work and the
:class:`Dependencies`, does its work inside ``with uow:`` and commits once.
Event handlers turn a committed event into the follow-up command it needs;
the bus runs that command like any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .. import commands as c
from .. import events as e
from .capture import CaptureResult, Prepared, capture_order, prepare, problems_from_pydantic
from .changes import cancel_order, revise_order
from .context import Dependencies, Handling, OrderBalance
from .decisions import approve_order, entered_by, place_hold, reject_order, release_hold
from .payments import authorise_payment, capture_payment, record_funds_received, refund_payment
from .progress import move_on_paid_steps, record_fulfilment_event, start_fulfilment
from .returns import authorise_return, receive_return
from .stock import JeopardyReport, check_reorder, clear_alerts, receive_replenishment, scan_jeopardy

__all__ = [
    "COMMAND_HANDLERS",
    "EVENT_HANDLERS",
    "CaptureResult",
    "Dependencies",
    "Handling",
    "JeopardyReport",
    "OrderBalance",
    "Prepared",
    "entered_by",
    "prepare",
    "problems_from_pydantic",
]

#: Exactly one handler per command type.
COMMAND_HANDLERS: dict[type[c.Command], Callable[..., Any]] = {
    c.CaptureOrder: capture_order,
    c.ImportOrder: capture_order,
    c.ReviseOrder: revise_order,
    c.CancelOrder: cancel_order,
    c.StartFulfilment: start_fulfilment,
    c.RecordFulfilmentEvent: record_fulfilment_event,
    c.PlaceHold: place_hold,
    c.ReleaseHold: release_hold,
    c.ApproveOrder: approve_order,
    c.RejectOrder: reject_order,
    c.AuthorisePayment: authorise_payment,
    c.CapturePayment: capture_payment,
    c.RecordFundsReceived: record_funds_received,
    c.RefundPayment: refund_payment,
    c.AuthoriseReturn: authorise_return,
    c.ReceiveReturn: receive_return,
    c.ScanJeopardy: scan_jeopardy,
    c.CheckReorder: check_reorder,
    c.ReceiveReplenishment: receive_replenishment,
    c.MoveOnPaidSteps: move_on_paid_steps,
    c.ClearAlerts: clear_alerts,
}


def _reorder(event: e.StockMoved) -> c.Command | None:
    return c.CheckReorder(actor="system:reorder", items=event.items) if event.items else None


def _paid(event: e.PaymentCaptured) -> c.Command | None:
    return c.MoveOnPaidSteps(actor=event.actor, order_id=event.order_id or "")


def _done(event: e.DomainEvent) -> c.Command | None:
    return c.ClearAlerts(actor="system:jeopardy", order_id=event.order_id or "")


#: The follow-up commands of each event type.
EVENT_HANDLERS: dict[type[e.DomainEvent], tuple[Callable[[Any], c.Command | None], ...]] = {
    e.StockMoved: (_reorder,),
    e.PaymentCaptured: (_paid,),
    e.OrderClosed: (_done,),
    e.OrderCancelled: (_done,),
}
