"""Fulfilment over HTTP: start, events from the world, holds, payments, returns, replenishment, the timeline.

Each route builds one command and hands it to the host's bus. Events from the
world (shipped, delivered, payment captured) and funds received come only
from the integration role, never from the desk. The timeline puts each step's
planned completion (the track's start plus the process's planned durations)
beside what actually happened.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import JSONResponse

from oms_host.auth import Action, User
from oms_host.host import Host
from order_management import commands as cmd
from order_management.fulfilment import (
    ProcessCatalogue,
    ProcessInstance,
)
from order_management.fulfilment.records import ReplenishmentStatus
from order_management.handlers.context import balance_of
from order_management.limits import OrderId, RecordId

from .bodies import body_of, command_from
from .security import get_host, requires
from .serialise import plain

__all__ = ["router", "timeline"]

router = APIRouter(prefix="/api", tags=["fulfilment"])
HostDep = Annotated[Host, Depends(get_host)]
Viewer = Annotated[User, Depends(requires(Action.VIEW))]
Desk = Annotated[User, Depends(requires(Action.CAPTURE))]
Integration = Annotated[User, Depends(requires(Action.REPORT))]
Approver = Annotated[User, Depends(requires(Action.APPROVE))]


def _fulfilment(host: Host) -> ProcessCatalogue:
    if host.deps.processes is None:
        raise HTTPException(404, "fulfilment is not configured: the ruleset bundle has no `process` ruleset")
    return host.deps.processes


def timeline(processes: ProcessCatalogue, instance: ProcessInstance) -> list[dict[str, Any]]:
    """Per track, each step with its status, planned completion and actual start and completion."""
    tracks = []
    for track in instance.tracks:
        definition = processes.get(track.process_id)
        durations = {s.id: s.duration for s in definition.steps}
        first_start = next((s.started_at for s in track.steps if s.started_at), None)
        planned = first_start
        steps = []
        for state in track.steps:
            planned = planned + durations.get(state.step_id, dt.timedelta(0)) if planned else None
            steps.append({"step_id": state.step_id, "status": state.status.value, "planned_at": planned,
                          "started_at": state.started_at, "completed_at": state.completed_at,
                          "expected_at": state.expected_at,
                          "late": _late(planned, state.completed_at or state.expected_at)})
        tracks.append({"track_id": track.track_id, "process_id": track.process_id, "line_ids": track.line_ids,
                       "cancelled": track.cancelled, "steps": steps})
    return plain(tracks)


def _late(planned: dt.datetime | None, actual: dt.datetime | None) -> bool:
    return planned is not None and actual is not None and actual > planned


def fulfilment_detail(host: Host, order_id: str) -> dict[str, Any]:
    records = host.records
    instance = records.processes.find(order_id)
    balance = balance_of(host.order(order_id), records.returns.for_order(order_id),
                         records.payments.for_order(order_id))
    return {
        "balance": {"total": plain(balance.total), "credited": plain(balance.credited), "paid": plain(balance.paid),
                    "outstanding": plain(balance.outstanding)},
        "stage": instance.stage.value if instance else None,
        "tracks": timeline(host.deps.processes, instance) if instance and host.deps.processes else [],
        "alerts": plain(instance.alerts) if instance else [],
        "errors": list(instance.errors) if instance else [],
        "holds": plain(records.holds.for_order(order_id)),
        "approvals": plain(records.approvals.for_order(order_id)),
        "payments": plain(records.payments.for_order(order_id)),
        "returns": plain(records.returns.for_order(order_id)),
        "audit": [{"at": e.at.isoformat(), "actor": e.actor, "entity": e.entity.value, "entity_id": e.entity_id,
                   "action": e.action, "reason": e.reason} for e in records.audit.for_order(order_id)],
    }


EventBody = body_of(cmd.RecordFulfilmentEvent, "order_id")
HoldBody = body_of(cmd.PlaceHold, "order_id")
ReleaseBody = body_of(cmd.ReleaseHold, "order_id", "hold_id")
PaymentBody = body_of(cmd.AuthorisePayment, "order_id")
FundsBody = body_of(cmd.RecordFundsReceived, "payment_id")
RefundBody = body_of(cmd.RefundPayment, "payment_id")
ReturnBody = body_of(cmd.AuthoriseReturn, "order_id")
ReceiptBody = body_of(cmd.ReceiveReturn, "rma_id")
ReplenishmentBody = body_of(cmd.ReceiveReplenishment, "request_id")


@router.get("/orders/{order_id}/fulfilment", summary="Fulfilment: timeline, holds, payments, returns, audit")
def detail(order_id: OrderId, host: HostDep, user: Viewer) -> JSONResponse:
    return JSONResponse(fulfilment_detail(host, order_id))


@router.post("/orders/{order_id}/fulfilment", summary="Start fulfilment of a booked order")
def start(order_id: OrderId, host: HostDep, user: Desk) -> JSONResponse:
    _fulfilment(host)
    host.bus.handle(cmd.StartFulfilment(actor=user.actor, order_id=order_id))
    return JSONResponse(fulfilment_detail(host, order_id))


@router.post("/orders/{order_id}/events",
             summary="An event from the world (warehouse, carrier, payment provider); integration role only")
def event(order_id: OrderId, body: EventBody, host: HostDep, user: Integration) -> JSONResponse:  # type: ignore[valid-type]
    _fulfilment(host)
    host.bus.handle(command_from(cmd.RecordFulfilmentEvent, body, actor=user.actor, order_id=order_id))
    return JSONResponse(fulfilment_detail(host, order_id))


@router.post("/orders/{order_id}/holds", summary="Place a hold: the order's steps stop until it is released")
def place_hold(order_id: OrderId, body: HoldBody, host: HostDep, user: Desk) -> JSONResponse:  # type: ignore[valid-type]
    host.bus.handle(command_from(cmd.PlaceHold, body, actor=user.actor, order_id=order_id))
    return JSONResponse(fulfilment_detail(host, order_id))


@router.post("/holds/{hold_id}/release", summary="Release a hold (approver; not the person who placed it)")
def release_hold(hold_id: RecordId, body: ReleaseBody, host: HostDep, user: Approver) -> JSONResponse:  # type: ignore[valid-type]
    hold = host.records.holds.get(hold_id)
    host.bus.handle(command_from(cmd.ReleaseHold, body, actor=user.actor, order_id=hold.order_id, hold_id=hold_id))
    return JSONResponse(fulfilment_detail(host, hold.order_id))


@router.post("/orders/{order_id}/payments", summary="Authorise what the order owes with a payment method")
def pay(order_id: OrderId, body: PaymentBody, host: HostDep, user: Desk) -> JSONResponse:  # type: ignore[valid-type]
    host.bus.handle(command_from(cmd.AuthorisePayment, body, actor=user.actor, order_id=order_id))
    return JSONResponse(fulfilment_detail(host, order_id))


@router.post("/payments/{payment_id}/capture", summary="Capture an authorised card or wallet payment")
def capture_payment(payment_id: RecordId, host: HostDep, user: Desk) -> JSONResponse:
    payment = host.bus.handle(cmd.CapturePayment(actor=user.actor, payment_id=payment_id))
    return JSONResponse(fulfilment_detail(host, payment.order_id))


@router.post("/payments/{payment_id}/funds-received",
             summary="A bank transfer's money arrived (integration role: the bank or the gateway)")
def funds_received(payment_id: RecordId, body: FundsBody, host: HostDep,  # type: ignore[valid-type]
                   user: Integration) -> JSONResponse:
    payment = host.bus.handle(command_from(cmd.RecordFundsReceived, body, actor=user.actor, payment_id=payment_id))
    return JSONResponse(fulfilment_detail(host, payment.order_id))


@router.post("/payments/{payment_id}/refund", summary="Refund part or all of a captured payment (approver)")
def refund(payment_id: RecordId, body: RefundBody, host: HostDep, user: Approver) -> JSONResponse:  # type: ignore[valid-type]
    payment = host.bus.handle(command_from(cmd.RefundPayment, body, actor=user.actor, payment_id=payment_id))
    return JSONResponse(fulfilment_detail(host, payment.order_id))


@router.post("/orders/{order_id}/returns", summary="Authorise a return of shipped units")
def authorise_return(order_id: OrderId, body: ReturnBody, host: HostDep, user: Desk) -> JSONResponse:  # type: ignore[valid-type]
    host.bus.handle(command_from(cmd.AuthoriseReturn, body, actor=user.actor, order_id=order_id))
    return JSONResponse(fulfilment_detail(host, order_id))


@router.post("/returns/{rma_id}/receive",
             summary="Units came back: received vs damaged per line; refund, restock, replacement or exchange")
def receive_return(rma_id: RecordId, body: ReceiptBody, host: HostDep, user: Desk) -> JSONResponse:  # type: ignore[valid-type]
    rma = host.bus.handle(command_from(cmd.ReceiveReturn, body, actor=user.actor, rma_id=rma_id))
    return JSONResponse(fulfilment_detail(host, rma.order_id))


@router.get("/replenishments", summary="Replenishment requests raised by reorder points")
def replenishments(host: HostDep, user: Viewer, status: ReplenishmentStatus | None = None) -> JSONResponse:
    rows = [r for r in host.records.replenishments.all() if status is None or r.status == status]
    return JSONResponse({"replenishments": plain(rows)})


@router.post("/replenishments/{request_id}/receive",
             summary="Replenishment arrived: its units go on hand at its location (pricing admin)")
def receive_replenishment(request_id: RecordId, body: ReplenishmentBody, host: HostDep,  # type: ignore[valid-type]
                          user: Annotated[User, Depends(requires(Action.ADMIN_PRICING))]) -> JSONResponse:
    done = host.bus.handle(command_from(cmd.ReceiveReplenishment, body, actor=user.actor, request_id=request_id))
    return JSONResponse({"replenishment": plain(done)})


def open_alerts(host: Host) -> list[dict[str, Any]]:
    """Every jeopardy alert standing on an order in fulfilment, most urgent first."""
    alerts = [a for instance in host.records.processes.all() for a in instance.alerts]
    alerts.sort(key=lambda a: (-a.priority.rank, -a.days_late, a.order_id, a.line_id))
    return plain(alerts)


@router.post("/jeopardy/scan", summary="Project open lines, ask the jeopardy rules, raise and clear alerts")
def scan_jeopardy(host: HostDep, user: Desk) -> JSONResponse:
    _fulfilment(host)
    report = host.bus.handle(cmd.ScanJeopardy(actor=user.actor))
    return JSONResponse({"orders": report.orders, "raised": plain(report.raised), "cleared": plain(report.cleared),
                         "changed": plain(report.changed), "errors": [str(e) for e in report.errors],
                         "alerts": open_alerts(host)})
