"""Fulfilment over HTTP: start, events from the world, holds, payments, returns, and the timeline.

Thin routes over :class:`order_management.fulfilment.FulfilmentService` (the
host builds it when the bundle has ``process`` rulesets). The timeline puts
each step's planned completion (the track's start plus the process's planned
durations) beside what actually happened.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from oms_host.auth import Action, User
from oms_host.host import Host
from order_management.fulfilment import (
    EventType,
    FulfilmentEvent,
    FulfilmentService,
    PaymentMethod,
    ProcessInstance,
    Resolution,
    ReturnReason,
    ReturnRequest,
)

from .security import get_host, requires
from .serialise import plain

__all__ = ["router", "timeline"]

router = APIRouter(prefix="/api", tags=["fulfilment"])
HostDep = Annotated[Host, Depends(get_host)]
Viewer = Annotated[User, Depends(requires(Action.VIEW))]
Desk = Annotated[User, Depends(requires(Action.CAPTURE))]
System = Annotated[User, Depends(requires(Action.IMPORT))]
Approver = Annotated[User, Depends(requires(Action.APPROVE))]


def _service(host: Host) -> FulfilmentService:
    if host.fulfilment is None:
        raise HTTPException(404, "fulfilment is not configured: the ruleset bundle has no `process` ruleset")
    return host.fulfilment


def timeline(service: FulfilmentService, instance: ProcessInstance) -> list[dict[str, Any]]:
    """Per track, each step with its status, planned completion and actual start and completion."""
    tracks = []
    for track in instance.tracks:
        definition = service.processes.get(track.process_id)
        durations = {s.id: s.duration for s in definition.steps}
        first_start = next((s.started_at for s in track.steps if s.started_at), None)
        planned = first_start
        steps = []
        for state in track.steps:
            planned = planned + durations.get(state.step_id, dt.timedelta(0)) if planned else None
            steps.append({"step_id": state.step_id, "status": state.status.value, "planned_at": planned,
                          "started_at": state.started_at, "completed_at": state.completed_at,
                          "expected_at": state.expected_at,
                          "late": bool(planned and (state.completed_at or state.expected_at)
                                       and (state.completed_at or state.expected_at) > planned)})
        tracks.append({"track_id": track.track_id, "process_id": track.process_id, "line_ids": track.line_ids,
                       "cancelled": track.cancelled, "steps": steps})
    return plain(tracks)


def fulfilment_detail(service: FulfilmentService, order_id: str) -> dict[str, Any]:
    instance = service.records.processes.find(order_id)
    records = service.records
    return {
        "stage": instance.stage.value if instance else None,
        "tracks": timeline(service, instance) if instance else [],
        "alerts": plain(instance.alerts) if instance else [],
        "errors": list(instance.errors) if instance else [],
        "holds": plain(records.holds.for_order(order_id)),
        "approvals": plain(records.approvals.for_order(order_id)),
        "payments": plain(records.payments.for_order(order_id)),
        "returns": plain(records.returns.for_order(order_id)),
        "audit": [{"at": e.at.isoformat(), "actor": e.actor, "entity": e.entity.value, "entity_id": e.entity_id,
                   "action": e.action, "reason": e.reason} for e in records.audit.for_order(order_id)],
    }


class Event(BaseModel):
    type: EventType
    line_id: str | None = None
    step: str | None = None
    expected_at: dt.datetime | None = None
    event_id: str | None = Field(None, description="the sender's id: a message delivered twice is applied once")


class HoldRequest(BaseModel):
    reason: str = Field(min_length=1)


class Note(BaseModel):
    note: str = ""


class PaymentRequest(BaseModel):
    method: PaymentMethod


class ReturnLineRequest(BaseModel):
    line_id: str
    quantity: Decimal = Field(gt=0)
    reason: ReturnReason
    resolution: Resolution = Resolution.REFUND


class ReturnBody(BaseModel):
    lines: list[ReturnLineRequest] = Field(min_length=1)


@router.get("/orders/{order_id}/fulfilment", summary="Fulfilment: timeline, holds, payments, returns, audit")
def detail(order_id: str, host: HostDep, user: Viewer) -> JSONResponse:
    return JSONResponse(fulfilment_detail(_service(host), order_id))


@router.post("/orders/{order_id}/fulfilment", summary="Start fulfilment of a booked order")
def start(order_id: str, host: HostDep, user: Desk) -> JSONResponse:
    service = _service(host)
    service.start(order_id, user.actor)
    return JSONResponse(fulfilment_detail(service, order_id))


@router.post("/orders/{order_id}/events", summary="An event from the world (warehouse, carrier, payment provider)")
def event(order_id: str, body: Event, host: HostDep, user: System) -> JSONResponse:
    service = _service(host)
    service.handle(FulfilmentEvent(order_id, body.type, body.line_id, body.step, body.expected_at, user.actor,
                                   body.event_id))
    return JSONResponse(fulfilment_detail(service, order_id))


@router.post("/orders/{order_id}/holds", summary="Place a hold: the order's steps stop until it is released")
def place_hold(order_id: str, body: HoldRequest, host: HostDep, user: Desk) -> JSONResponse:
    service = _service(host)
    service.place_hold(order_id, body.reason, user.actor)
    return JSONResponse(fulfilment_detail(service, order_id))


@router.post("/holds/{hold_id}/release", summary="Release a hold (approver)")
def release_hold(hold_id: str, body: Note, host: HostDep, user: Approver) -> JSONResponse:
    service = _service(host)
    hold = service.records.holds.get(hold_id)
    if hold.placed_by == user.actor:
        raise HTTPException(403, "you placed this hold; someone else must release it")
    service.release_hold(hold_id, user.actor, body.note)
    return JSONResponse(fulfilment_detail(service, hold.order_id))


@router.post("/orders/{order_id}/payments", summary="Authorise the order's total with a payment method")
def pay(order_id: str, body: PaymentRequest, host: HostDep, user: Desk) -> JSONResponse:
    service = _service(host)
    service.authorise_payment(order_id, body.method, user.actor)
    return JSONResponse(fulfilment_detail(service, order_id))


@router.post("/payments/{payment_id}/capture", summary="Capture an authorised payment")
def capture_payment(payment_id: str, host: HostDep, user: Desk) -> JSONResponse:
    service = _service(host)
    payment = service.capture_payment(payment_id, user.actor)
    return JSONResponse(fulfilment_detail(service, payment.order_id))


@router.post("/orders/{order_id}/returns", summary="Authorise a return of shipped units")
def authorise_return(order_id: str, body: ReturnBody, host: HostDep, user: Desk) -> JSONResponse:
    service = _service(host)
    service.authorise_return(order_id, [ReturnRequest(r.line_id, r.quantity, r.reason, r.resolution)
                                        for r in body.lines], user.actor)
    return JSONResponse(fulfilment_detail(service, order_id))


def open_alerts(service: FulfilmentService) -> list[dict[str, Any]]:
    """Every jeopardy alert standing on an order in fulfilment, most urgent first."""
    alerts = [a for instance in service.records.processes.all() for a in instance.alerts]
    alerts.sort(key=lambda a: (-a.priority.rank, -a.days_late, a.order_id, a.line_id))
    return plain(alerts)


@router.post("/jeopardy/scan", summary="Project open lines, ask the jeopardy rules, raise and clear alerts")
def scan_jeopardy(host: HostDep, user: Desk) -> JSONResponse:
    service = _service(host)
    report = service.scan_jeopardy(actor=user.actor)
    return JSONResponse({"orders": report.orders, "raised": plain(report.raised), "cleared": plain(report.cleared),
                         "changed": plain(report.changed), "errors": [str(e) for e in report.errors],
                         "alerts": open_alerts(service)})
