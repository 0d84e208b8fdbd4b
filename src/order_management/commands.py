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
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.fields import FieldInfo

from .fulfilment.payments import PaymentMethod
from .fulfilment.process import EventType
from .fulfilment.returns import Resolution, ReturnReason
from .limits import (
    ACTOR_LENGTH,
    MAX_LINES_PER_ORDER,
    MAX_VERSION,
    REASON_LENGTH,
    LineId,
    NonNegativeQuantity,
    OrderId,
    PositiveAmount,
    PositiveQuantity,
    RecordId,
    Sku,
    Text,
)
from .model import OrderInput

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
Reason = Annotated[str, Text(REASON_LENGTH, min_length=1)]
Note = Annotated[str, Text(REASON_LENGTH)]


class Command(BaseModel):
    """Base of every command: who asks."""

    model_config = _COMMAND
    actor: Annotated[str, Text(ACTOR_LENGTH, min_length=1)]


class CaptureOrder(Command):
    """Validate, price, promise, reserve and store a new order; the server numbers it."""

    order: OrderInput
    reason: Annotated[str, Text(REASON_LENGTH)] = "captured"


class ImportOrder(CaptureOrder):
    """Capture from another system: the import key (source_system, external_ref) is required.

    Capturing the same key twice returns the stored order.
    """


def _optional(info: FieldInfo) -> Any:
    """The field's type with its constraints (``lines``: 1 to 2,000), or None."""
    annotation: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    return annotation | None


#: What a revision may change: the client's fields of :class:`OrderInput` (``lines`` replaces the lines).
OrderChanges = create_model(  # type: ignore[call-overload]
    "OrderChanges",
    __config__=_COMMAND,
    __doc__="Fields to change; a field left out keeps its value. Import keys and the customer stay as they are.",
    **{name: (_optional(info), None) for name, info in OrderInput.model_fields.items()
       if name not in ("source_system", "external_ref", "customer_id")},
)


class ReviseOrder(Command):
    """Change an order; ``expected_version`` is the version the client read (a stale one is refused)."""

    order_id: OrderId
    expected_version: int = Field(ge=1, le=MAX_VERSION)
    changes: OrderChanges  # type: ignore[valid-type]
    reason: Reason


class CancelOrder(Command):
    order_id: OrderId
    reason: Reason
    expected_version: int | None = Field(None, ge=1, le=MAX_VERSION)


class StartFulfilment(Command):
    order_id: OrderId


class RecordFulfilmentEvent(Command):
    """The outside world tells us something (warehouse, carrier, payment provider)."""

    order_id: OrderId
    type: EventType
    line_id: LineId | None = None
    step: Annotated[str, Text(80)] | None = None
    expected_at: dt.datetime | None = None
    event_id: Annotated[str, Text(200)] | None = Field(None,
                                 description="the sender's id: a message delivered twice is applied once")


class PlaceHold(Command):
    order_id: OrderId
    reason: Reason


class ReleaseHold(Command):
    """Release one hold (``hold_id``) or every active hold of the order."""

    order_id: OrderId
    hold_id: RecordId | None = None
    note: Note = ""


class ApproveOrder(Command):
    """Approve the order's pending approval; ``roles`` are the approval roles the actor acts in."""

    order_id: OrderId
    roles: frozenset[Annotated[str, Text(100)]] = frozenset()
    note: Note = ""


class RejectOrder(Command):
    """Send the order back to the desk (status ``entered``) to be changed and submitted again."""

    order_id: OrderId
    roles: frozenset[Annotated[str, Text(100)]] = frozenset()
    reason: Reason


class AuthorisePayment(Command):
    """Authorise the outstanding amount (or ``amount``); bank transfer and cash on delivery open as pending."""

    order_id: OrderId
    method: PaymentMethod
    amount: PositiveAmount | None = None


class CapturePayment(Command):
    payment_id: RecordId


class RecordFundsReceived(Command):
    """A pending bank transfer's money arrived (told by the bank or the gateway)."""

    payment_id: RecordId
    amount: PositiveAmount | None = Field(None, description="defaults to the amount awaited")
    reference: Annotated[str, Text(200)] = ""


class RefundPayment(Command):
    payment_id: RecordId
    amount: PositiveAmount
    reason: Reason


class ReturnLineRequest(BaseModel):
    model_config = _COMMAND
    line_id: LineId
    quantity: PositiveQuantity
    reason: ReturnReason
    resolution: Resolution = Resolution.REFUND
    exchange_sku: Sku | None = None


class AuthoriseReturn(Command):
    order_id: OrderId
    lines: tuple[ReturnLineRequest, ...] = Field(min_length=1, max_length=MAX_LINES_PER_ORDER)


class ReceivedLine(BaseModel):
    model_config = _COMMAND
    line_id: LineId
    received: NonNegativeQuantity
    damaged: NonNegativeQuantity = Field(Decimal(0), description="of the received units, those that cannot be resold")


class ReceiveReturn(Command):
    """Units came back: good ones are restocked; refunds, replacements and exchanges follow."""

    rma_id: RecordId
    lines: tuple[ReceivedLine, ...] = Field(min_length=1, max_length=MAX_LINES_PER_ORDER)


class ScanJeopardy(Command):
    order_ids: tuple[str, ...] | None = None


class CheckReorder(Command):
    items: tuple[tuple[str, str], ...]


class ReceiveReplenishment(Command):
    """Replenishment arrived: its units go on hand at its location and the request is closed."""

    request_id: RecordId
    quantity: PositiveQuantity | None = Field(None, description="defaults to the quantity requested")


class MoveOnPaidSteps(Command):
    """Follow-up of a payment: steps waiting for ``payment_captured`` move on if the order is paid."""

    order_id: OrderId


class ClearAlerts(Command):
    """Follow-up of closing or cancelling: no jeopardy alert stays on an order that is done."""

    order_id: OrderId
