"""Fulfilment moving on: starting an order's process, and events from the world.

Starting asks the event rules (holds, approvals), plans one track per line
(or per order-scope process) and starts what may move. An event from the
world (shipment confirmed, delivered, a named step done, a delay) completes
the steps it names; while the order is held, it waits and is applied when the
last hold is released. Line and order statuses follow in the same version.
"""

from __future__ import annotations

from dataclasses import replace

from pricing_engine import Money

from ..commands import MoveOnPaidSteps, RecordFulfilmentEvent, StartFulfilment
from ..events import PaymentCaptured, StockMoved
from ..fulfilment.audit import Entity, plain
from ..fulfilment.errors import OrderBlockedError, RuleActionError, StepTransitionError
from ..fulfilment.payments import PaymentMethod, PaymentStatus, require
from ..fulfilment.process import Command, EventType, complete_step, delay
from ..fulfilment.records import FulfilmentEvent, ProcessInstance, Stage
from ..model import LineKind, LineStatus, OrderStatus
from ..unit_of_work import UnitOfWork
from .context import Dependencies, Handling, stock_items

__all__ = ["apply_event", "move_on_if_paid", "move_on_paid_steps", "record_fulfilment_event", "resume",
           "start_fulfilment"]

_SHIPPED = (LineStatus.SHIPPED, LineStatus.DELIVERED)


def start_fulfilment(cmd: StartFulfilment, uow: UnitOfWork, deps: Dependencies) -> ProcessInstance:
    """Begin fulfilment: holds from rules, an approval step if needed, else the process tracks.

    An event rule whose action fails is recorded on the order (in a unit of
    work of its own) and raised as :class:`RuleActionError`; nothing else changes.
    """
    try:
        with uow:
            h = Handling(uow, deps, cmd.actor)
            instance = _start(h, cmd.order_id)
            uow.commit()
        return instance
    except RuleActionError as error:
        with uow:
            Handling(uow, deps, cmd.actor).record_rule_failure(cmd.order_id, error)
            uow.commit()
        raise


def _start(h: Handling, order_id: str) -> ProcessInstance:
    h.processes()
    existing = h.uow.processes.find(order_id)
    if existing is not None and (existing.tracks or not existing.errors):
        raise StepTransitionError(f"order {order_id} is already in fulfilment")
    record = h.record_of(order_id)
    if record.order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED, OrderStatus.ENTERED):
        raise StepTransitionError(f"order {order_id} is {record.order.status.value}; only a booked order starts")
    customer = h.customer(record.order)
    evaluation = h.evaluate(record, customer)
    h.reassess_rule_holds(record, evaluation)
    instance = existing or ProcessInstance(order_id, Stage.RUNNING)
    instance = replace(instance, tracks=h.plan(record.order, customer))
    if h.require_approval(record, evaluation):
        instance = replace(instance, stage=Stage.AWAITING_APPROVAL)
    instance = h.save_instance(instance, existing.version if existing else None, "created")
    instance = h.run(instance)
    instance = move_on_if_paid(h, instance)
    h.settle_status(order_id, "fulfilment started")
    return h.instance(order_id)


def record_fulfilment_event(cmd: RecordFulfilmentEvent, uow: UnitOfWork, deps: Dependencies) -> ProcessInstance:
    """Apply an event from the world; while the order is held, it waits and is applied on release.

    An event with an ``event_id`` already seen for the order (a carrier's
    message delivered twice) changes nothing.
    """
    event = FulfilmentEvent(cmd.order_id, cmd.type, cmd.line_id, cmd.step, cmd.expected_at, cmd.actor,
                            cmd.event_id)
    with uow:
        h = Handling(uow, deps, cmd.actor)
        instance = h.instance(cmd.order_id)
        if event.event_id is not None:
            if event.event_id in instance.seen:
                return instance
            instance = replace(instance, seen=(*instance.seen, event.event_id))
        if instance.stage == Stage.COMPLETED and event.type == EventType.DELIVERED:
            _reflect_lines(h, instance, event, _event_lines(instance, event, set()))
            result = h.instance(cmd.order_id)
            uow.commit()
            return result
        if instance.stage != Stage.RUNNING:
            waits = {Stage.AWAITING_APPROVAL: "approve or reject it first",
                     Stage.SENT_BACK: "it was sent back; change and resubmit it first",
                     Stage.COMPLETED: "its fulfilment is complete",
                     Stage.CANCELLED: "it was cancelled"}.get(instance.stage, "it is not running")
            raise OrderBlockedError(f"order {cmd.order_id} is {instance.stage.value}: {waits}")
        if h.active_holds(cmd.order_id):
            queued = replace(instance, queued=(*instance.queued, event))
            h.save_instance(queued, instance.version, "event queued")
            h.changed(Entity.STEP, cmd.order_id, f"{event.type.value} queued behind a hold", None, plain(event),
                      cmd.order_id)
        else:
            apply_event(h, instance, event)
        result = h.instance(cmd.order_id)
        uow.commit()
    return result


def apply_event(h: Handling, instance: ProcessInstance, event: FulfilmentEvent) -> ProcessInstance:
    """Complete the steps ``event`` names on the tracks it concerns; lines and status follow."""
    catalogue = h.processes()
    tracks = list(instance.tracks)
    targets = [i for i, t in enumerate(tracks) if not t.done and not t.cancelled
               and (event.line_id is None or event.line_id in t.line_ids)]
    if not targets and event.type == EventType.DELIVERED:  # the line's track finished at shipment: it learns
        _reflect_lines(h, instance, event, _event_lines(instance, event, set()))
        return instance
    if not targets:
        raise StepTransitionError(f"order {event.order_id} has no open track"
                                  + (f" for line {event.line_id}" if event.line_id else ""))
    commands: list[Command] = []
    moved = 0
    moved_lines: set[str] = set()
    for i in targets:
        track = tracks[i]
        process = catalogue.get(track.process_id)
        try:
            if event.type == EventType.SHIPMENT_DELAYED:
                if event.expected_at is None:
                    raise StepTransitionError("a shipment_delayed event carries `expected_at`")
                new = delay(process, track, event.expected_at)
                sent: list[Command] = []
            else:
                new, sent = complete_step(process, track, event.type, event.step, h.now)
        except StepTransitionError:
            if event.type == EventType.DELIVERED:
                continue  # delivery completes a step only if a process waits for it; lines always learn of it
            if event.line_id is not None or len(targets) == 1:
                raise
            continue  # an order-wide event: tracks it does not concern are left alone
        h.audit_steps(event.order_id, track, new, event.type.value)
        tracks[i] = new
        commands.extend(sent)
        moved += 1
        moved_lines.update(track.line_ids)
    if moved == 0 and event.type != EventType.DELIVERED:
        raise StepTransitionError(f"no open step of order {event.order_id} completes on {event.type.value}")
    changed = replace(instance, tracks=tuple(tracks))
    stored = h.uow.processes.find(instance.order_id)
    if commands or changed != stored:  # an event reported again changes nothing, not even the version
        instance = h.send(changed, commands)
        instance = h.save_instance(instance, instance.version, event.type.value)
    _reflect_lines(h, instance, event, _event_lines(instance, event, moved_lines))
    if event.type == EventType.DELIVERED:
        _collect_on_delivery(h, event)
    return move_on_if_paid(h, instance)


def _event_lines(instance: ProcessInstance, event: FulfilmentEvent, moved: set[str]) -> set[str]:
    """The lines an event concerns: those of the tracks it moved (a ship-complete consignment ships every
    line of its track), else the line it names, else every line of the order's tracks."""
    if moved:
        return moved
    if event.line_id:
        return {event.line_id}
    return {i for t in instance.tracks for i in t.line_ids}


def _reflect_lines(h: Handling, instance: ProcessInstance, event: FulfilmentEvent, line_ids: set[str]) -> None:
    """Line statuses follow the events (shipped, delivered), and the order's status with them."""
    record = h.record_of(event.order_id)
    order = record.order
    if event.type not in (EventType.SHIPMENT_CONFIRMED, EventType.DELIVERED):
        h.settle_status(order.order_id, event.type.value)
        return
    lines = []
    for line in order.lines:
        if line.line_id in line_ids and line.kind != LineKind.SERVICE and line.status != LineStatus.CANCELLED:
            if event.type == EventType.SHIPMENT_CONFIRMED and line.status not in _SHIPPED:
                line = line.model_copy(update={"status": LineStatus.SHIPPED, "shipped_quantity": line.quantity})
            elif event.type == EventType.DELIVERED:
                line = line.model_copy(update={"status": LineStatus.DELIVERED, "shipped_quantity": line.quantity})
        lines.append(line)
    after = order.model_copy(update={"lines": tuple(lines)})
    if after != order:
        h.happened(StockMoved(actor="system:reorder", at=h.now, order_id=order.order_id,
                              items=stock_items([after])))
    h.settle_status(order.order_id, event.type.value, after)  # lines and status: one new version


def _collect_on_delivery(h: Handling, event: FulfilmentEvent) -> None:
    """Cash on delivery: the courier collected it, so the pending payment is captured."""
    for payment in h.uow.payments.for_order(event.order_id):
        if payment.method == PaymentMethod.CASH_ON_DELIVERY and payment.status == PaymentStatus.PENDING:
            require(h.gateway().capture(payment.reference, Money(payment.authorised, payment.currency),
                                        f"{payment.payment_id}:capture"), "cash collection")
            h.save_payment(payment, payment.with_capture(payment.authorised), "collected on delivery",
                           payment.reference)
            h.happened(PaymentCaptured(actor=h.actor, at=h.now, order_id=event.order_id,
                                       payment_id=payment.payment_id, amount=payment.authorised))


def move_on_if_paid(h: Handling, instance: ProcessInstance) -> ProcessInstance:
    """Each track whose active step waits for ``payment_captured`` moves on if the order is paid in full.

    Only those tracks: the other lines go on through their own steps (picking,
    shipping) and reach the payment step in their own time.
    """
    if instance.stage != Stage.RUNNING or h.active_holds(instance.order_id):
        return instance
    waiting = h.awaiting(instance, EventType.PAYMENT_CAPTURED)
    if not waiting:
        return instance
    balance = h.balance(instance.order_id)
    if balance.paid <= 0 or balance.outstanding > 0:
        return instance
    catalogue = h.processes()
    tracks, commands = list(instance.tracks), []
    for track in waiting:
        new, sent = complete_step(catalogue.get(track.process_id), track, EventType.PAYMENT_CAPTURED, None, h.now)
        h.audit_steps(instance.order_id, track, new, "paid")
        tracks[tracks.index(track)] = new
        commands.extend(sent)
    instance = h.send(replace(instance, tracks=tuple(tracks)), commands)
    instance = h.save_instance(instance, instance.version, "paid")
    h.settle_status(instance.order_id, "paid")
    return instance


def move_on_paid_steps(cmd: MoveOnPaidSteps, uow: UnitOfWork, deps: Dependencies) -> None:
    """Follow-up of :class:`PaymentCaptured`."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        instance = uow.processes.find(cmd.order_id)
        if instance is None:
            return
        move_on_if_paid(h, instance)
        uow.commit()


def resume(h: Handling, instance: ProcessInstance) -> ProcessInstance:
    """With no hold left: start what waits, then apply the events that arrived meanwhile, in order.

    An event that no longer fits (a change re-planned its step away) is
    dropped, and the audit trail says so; the others still apply.
    """
    if h.active_holds(instance.order_id):
        return instance
    instance = h.run(instance)
    if not instance.queued or instance.stage != Stage.RUNNING:
        return move_on_if_paid(h, instance)
    queued, instance = instance.queued, replace(instance, queued=())
    instance = h.save_instance(instance, instance.version, "hold released")
    for event in queued:
        try:
            instance = apply_event(h, instance, event)
        except StepTransitionError as exc:
            h.changed(Entity.STEP, event.order_id, f"queued {event.type.value} dropped", plain(event), None,
                      event.order_id, str(exc))
    return move_on_if_paid(h, instance)
