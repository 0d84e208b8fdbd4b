"""Commands: each thing a person or a system does to an order, as a small typed request.

Every entry point — the host's JSON API, its web forms, the CLI, an import
row — builds one of these from checked input and hands it to the
:class:`~order_management.messagebus.MessageBus`; exactly one handler
(:mod:`order_management.handlers`) carries it out in one unit of work.

Commands are the input schemas: what is not a field here cannot be sent.
Order numbers, versions, statuses and shipped/delivered/returned quantities
are the server's, so they appear in no command; ``actor`` is filled in by the
entry point from the authenticated user, never from a request body.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from .fulfilment.payments import PaymentMethod
from .fulfilment.process import EventType
from .fulfilment.returns import Resolution, ReturnReason
from .model import OrderInput, Quantity

__all__ = [
    "ApproveOrder",
    "AuthorisePayment",
    "AuthoriseReturn",
    "CancelOrder",
    "CaptureOrder",
    "CapturePayment",
    "CheckReorder",
    "ClearAlerts",
    "Command",
    "ImportOrder",
    "MoveOnPaidSteps",
    "OrderChanges",
    "PlaceHold",
    "ReceiveReplenishment",
    "ReceiveReturn",
    "ReceivedLine",
    "RecordFulfilmentEvent",
    "RecordFundsReceived",
    "RefundPayment",
    "RejectOrder",
    "ReleaseHold",
    "ReturnLineRequest",
    "ReviseOrder",
    "ScanJeopardy",
    "StartFulfilment",
]

_COMMAND = ConfigDict(frozen=True, extra="forbid")
Text = str


class Command(BaseModel):
    """Base of every command: who asks."""

    model_config = _COMMAND
    actor: str = Field(min_length=1, max_length=200)


class CaptureOrder(Command):
    """Validate, price, promise, reserve and store a new order; the server numbers it."""

    order: OrderInput
    reason: str = "captured"


class ImportOrder(CaptureOrder):
    """Capture from another system: the import key (source_system, external_ref) is required.

    Capturing the same key twice returns the stored order.
    """


def _optional(annotation: Any) -> Any:
    return annotation | None


#: What a revision may change: the client's fields of :class:`OrderInput` (``lines`` replaces the lines).
OrderChanges = create_model(  # type: ignore[call-overload]
    "OrderChanges",
    __config__=_COMMAND,
    __doc__="Fields to change; a field left out keeps its value. Import keys and the customer stay as they are.",
    **{name: (_optional(info.annotation), None) for name, info in OrderInput.model_fields.items()
       if name not in ("source_system", "external_ref", "customer_id")},
)


class ReviseOrder(Command):
    """Change an order; ``expected_version`` is the version the client read (a stale one is refused)."""

    order_id: str = Field(min_length=1, max_length=64)
    expected_version: int = Field(ge=1)
    changes: OrderChanges  # type: ignore[valid-type]
    reason: str = Field(min_length=1, max_length=500)


class CancelOrder(Command):
    order_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)
    expected_version: int | None = Field(None, ge=1)


class StartFulfilment(Command):
    order_id: str = Field(min_length=1, max_length=64)


class RecordFulfilmentEvent(Command):
    """The outside world tells us something (warehouse, carrier, payment provider)."""

    order_id: str = Field(min_length=1, max_length=64)
    type: EventType
    line_id: str | None = None
    step: str | None = None
    expected_at: dt.datetime | None = None
    event_id: str | None = Field(None, max_length=200,
                                 description="the sender's id: a message delivered twice is applied once")


class PlaceHold(Command):
    order_id: str = Field(min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=500)


class ReleaseHold(Command):
    """Release one hold (``hold_id``) or every active hold of the order."""

    order_id: str = Field(min_length=1, max_length=64)
    hold_id: str | None = None
    note: str = Field("", max_length=500)


class ApproveOrder(Command):
    """Approve the order's pending approval; ``roles`` are the approval roles the actor acts in."""

    order_id: str = Field(min_length=1, max_length=64)
    roles: frozenset[str] = frozenset()
    note: str = Field("", max_length=500)


class RejectOrder(Command):
    """Send the order back to the desk (status ``entered``) to be changed and submitted again."""

    order_id: str = Field(min_length=1, max_length=64)
    roles: frozenset[str] = frozenset()
    reason: str = Field(min_length=1, max_length=500)


class AuthorisePayment(Command):
    """Authorise the outstanding amount (or ``amount``); bank transfer and cash on delivery open as pending."""

    order_id: str = Field(min_length=1, max_length=64)
    method: PaymentMethod
    amount: Quantity | None = Field(None, gt=0)


class CapturePayment(Command):
    payment_id: str = Field(min_length=1)


class RecordFundsReceived(Command):
    """A pending bank transfer's money arrived (told by the bank or the gateway)."""

    payment_id: str = Field(min_length=1)
    amount: Quantity | None = Field(None, gt=0, description="defaults to the amount awaited")
    reference: str = Field("", max_length=200)


class RefundPayment(Command):
    payment_id: str = Field(min_length=1)
    amount: Quantity = Field(gt=0)
    reason: str = Field(min_length=1, max_length=500)


class ReturnLineRequest(BaseModel):
    model_config = _COMMAND
    line_id: str = Field(min_length=1)
    quantity: Quantity = Field(gt=0)
    reason: ReturnReason
    resolution: Resolution = Resolution.REFUND
    exchange_sku: str | None = None


class AuthoriseReturn(Command):
    order_id: str = Field(min_length=1, max_length=64)
    lines: tuple[ReturnLineRequest, ...] = Field(min_length=1)


class ReceivedLine(BaseModel):
    model_config = _COMMAND
    line_id: str = Field(min_length=1)
    received: Quantity = Field(ge=0)
    damaged: Quantity = Field(Decimal(0), ge=0, description="of the received units, those that cannot be resold")


class ReceiveReturn(Command):
    """Units came back: good ones are restocked; refunds, replacements and exchanges follow."""

    rma_id: str = Field(min_length=1)
    lines: tuple[ReceivedLine, ...] = Field(min_length=1)


class ScanJeopardy(Command):
    order_ids: tuple[str, ...] | None = None


class CheckReorder(Command):
    items: tuple[tuple[str, str], ...]


class ReceiveReplenishment(Command):
    """Replenishment arrived: its units go on hand at its location and the request is closed."""

    request_id: str = Field(min_length=1)
    quantity: Quantity | None = Field(None, gt=0, description="defaults to the quantity requested")


class MoveOnPaidSteps(Command):
    """Follow-up of a payment: steps waiting for ``payment_captured`` move on if the order is paid."""

    order_id: str


class ClearAlerts(Command):
    """Follow-up of closing or cancelling: no jeopardy alert stays on an order that is done."""

    order_id: str
