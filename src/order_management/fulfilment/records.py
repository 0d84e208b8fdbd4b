"""What fulfilment keeps beside an order: its process instance, holds, approvals and alerts.

Plain frozen dataclasses; every change makes a new value, and the service
writes an audit event with the value before and after.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from .event_rules import Priority
from .process import Command, EventType, Track

__all__ = [
    "Approval",
    "ApprovalStatus",
    "FulfilmentEvent",
    "Hold",
    "JeopardyAlert",
    "ProcessInstance",
    "ReplenishmentRequest",
    "ReplenishmentStatus",
    "Stage",
]


class Stage(StrEnum):
    """Where an order is in fulfilment as a whole."""

    AWAITING_APPROVAL = "awaiting_approval"  # an approval step stands before the process
    SENT_BACK = "sent_back"                  # approval rejected: back to the order desk to change and resubmit
    RUNNING = "running"                      # tracks are moving (unless a hold stops them)
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Hold:
    hold_id: str
    order_id: str
    reason: str
    source: str  # "person" or "rule:<rule id>"
    placed_by: str
    placed_at: dt.datetime
    released_by: str | None = None
    released_at: dt.datetime | None = None
    release_note: str | None = None

    @property
    def active(self) -> bool:
        return self.released_at is None


class ApprovalStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Approval:
    approval_id: str
    order_id: str
    order_version: int
    reasons: tuple[str, ...]
    role: str | None
    requested_at: dt.datetime
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: str | None = None
    decided_at: dt.datetime | None = None
    note: str | None = None
    total: Decimal | None = None  # what the order cost when approval was asked


@dataclass(frozen=True)
class JeopardyAlert:
    """A line whose projected completion passes its promised date by more than a rule allows."""

    order_id: str
    line_id: str
    priority: Priority
    rule: str
    days_late: int
    projected: dt.date
    promised: dt.date
    raised_at: dt.datetime


@dataclass(frozen=True)
class FulfilmentEvent:
    """Something the world tells us about an order (or one line of it)."""

    order_id: str
    type: EventType
    line_id: str | None = None          # None: every open track of the order
    step: str | None = None             # for step_completed
    expected_at: dt.datetime | None = None  # for shipment_delayed: the carrier's new estimate
    actor: str = "system"
    event_id: str | None = None         # the sender's id: a message delivered twice is applied once


@dataclass(frozen=True)
class ProcessInstance:
    """An order's fulfilment: its tracks, the commands sent, events waiting behind a hold, alerts."""

    order_id: str
    stage: Stage
    tracks: tuple[Track, ...] = ()
    commands: tuple[Command, ...] = ()
    queued: tuple[FulfilmentEvent, ...] = ()     # events that arrived while held, applied on release
    alerts: tuple[JeopardyAlert, ...] = ()
    errors: tuple[str, ...] = ()                 # event-rule failures on this order, newest last
    seen: tuple[str, ...] = ()                   # ids of the events applied or queued, for idempotence
    version: int = 1

    def track_of(self, line_id: str) -> Track:
        for track in self.tracks:
            if line_id in track.line_ids and not track.cancelled:
                return track
        raise LookupError(f"order {self.order_id} has no open track for line {line_id}")

    def alert(self, line_id: str) -> JeopardyAlert | None:
        return next((a for a in self.alerts if a.line_id == line_id), None)


class ReplenishmentStatus(StrEnum):
    OPEN = "open"
    RECEIVED = "received"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class ReplenishmentRequest:
    """Min/max replenishment of one item at one location: order up to ``max``."""

    request_id: str
    sku: str
    location: str
    quantity: Decimal
    available: Decimal
    reorder_point: int
    order_up_to: int
    created_at: dt.datetime
    rule: str
    status: ReplenishmentStatus = ReplenishmentStatus.OPEN
