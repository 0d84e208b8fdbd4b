"""Revising and cancelling an order — before or during fulfilment, in one unit of work.

A revision is re-validated, re-priced and re-promised (its reservation is
swapped atomically). If the order is in fulfilment, each track whose lines
changed — every track, for a change of where or when the goods go — is
re-planned from its process's ``replan_from`` step: commands already sent
from there on are compensated (a shipment request is cancelled), removed
lines' tracks are cancelled, new lines get tracks, holds and approvals are
asked again, and captured payments are settled to the new total.

A cancellation compensates every open track, releases the reservation, voids
open payments and refunds captured ones — all in the same transaction, so a
failed void leaves the order as it was.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pydantic

from ..commands import CancelOrder, ReviseOrder
from ..errors import FieldProblem, OrderValidationError, ProcessingConstraintError
from ..events import OrderCancelled, OrderRevised, StockMoved
from ..fulfilment.audit import Entity
from ..fulfilment.process import Command, Track, cancel_track, replan
from ..fulfilment.records import ApprovalStatus, Stage
from ..model import LineStatus, Order, OrderLine, OrderStatus
from ..ports import OrderRecord
from ..revisions import diff
from ..unit_of_work import UnitOfWork, stale_version
from .capture import CaptureResult, customer_of, prepare, problems_from_pydantic, with_promises
from .context import Dependencies, Handling, stock_items

__all__ = ["cancel_order", "revise_in", "revise_order"]

#: Changes that re-plan every track (where and when the goods go), and those that re-plan a line's track.
#: Price-only changes (discounts, coupons, notes) and what the system recomputes (status, promises) do not.
_REPLAN_ORDER_FIELDS = frozenset({"ship_to", "warehouse", "requested_date", "channel", "customer_id"})
_REPLAN_LINE_FIELDS = frozenset({"lines.sku", "lines.quantity", "lines.options", "lines.unit", "lines.kind",
                                 "lines.product_model", "lines.requested_date", "lines.service"})
_LINE_STATE = ("status", "promised_date", "ship_from", "shipped_quantity", "returned_quantity")


def revise_order(cmd: ReviseOrder, uow: UnitOfWork, deps: Dependencies) -> CaptureResult:
    """Apply the changes as a new version; a stale ``expected_version`` raises :class:`ConcurrentUpdateError`."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        current = uow.orders.get(cmd.order_id)
        if current.version != cmd.expected_version:
            raise stale_version(current, cmd.expected_version)
        result = revise_in(h, current, cmd.changes.model_dump(exclude_unset=True), cmd.reason)
        uow.commit()
    return result


def revise_in(h: Handling, current: OrderRecord, changes: dict[str, Any], reason: str, *,
              reopen: bool = False) -> CaptureResult:
    """The revision itself, inside the caller's unit of work.

    A return's exchange revises too, with ``reopen``: the new item reopens a
    closed order, whose fulfilment runs again for it.
    """
    before = current.order
    if reopen and before.status == OrderStatus.CLOSED:
        before = before.model_copy(update={"status": OrderStatus.IN_FULFILMENT})
        current = replace(current, order=before)
    elif before.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED):
        raise ProcessingConstraintError([FieldProblem("status", f"an order that is {before.status.value} "
                                                                "cannot be changed")])
    data = before.model_dump()
    data.update(changes)
    data["version"] = before.version + 1
    try:
        after = _carry_line_state(before, Order.model_validate(data))
    except pydantic.ValidationError as exc:
        raise OrderValidationError(problems_from_pydantic(exc)) from None
    customer = customer_of(h.deps, after)
    blocked = h.deps.rules.check_change(before, after, customer, h.as_of)
    if blocked:
        raise ProcessingConstraintError(blocked)
    instance = h.uow.processes.find(before.order_id)
    resubmit = instance is not None and instance.stage == Stage.SENT_BACK
    if not diff(before, after) and not resubmit:
        return CaptureResult(current, created=False)
    prepared = prepare(after, h.deps, h.as_of)
    promises = h.promiser().repromise(prepared.order, customer, h.as_of, prepared.lead_times)
    revised = with_promises(prepared.order, promises).model_copy(update={"version": before.version})
    changed = diff(before, revised)
    record = h.save_order(current, revised, reason, pricing=prepared.pricing, promises=promises,
                          hold_reasons=prepared.hold_reasons)
    h.audit_reservations(current, record)
    evaluation = h.evaluate(record, customer) if instance is not None else None
    h.reassess_rule_holds(record, evaluation)
    needs_approval = h.require_approval(record, evaluation)
    if instance is not None:
        _replan(h, current, record, changed, needs_approval, reason)
    record = h.settle_status(record.order_id, reason)
    h.settle(record.order_id)
    h.happened(OrderRevised(actor=h.actor, at=h.now, order_id=record.order_id, version=record.version))
    h.happened(StockMoved(actor="system:reorder", at=h.now, order_id=record.order_id,
                          items=stock_items([before, record.order])))
    return CaptureResult(h.record_of(record.order_id), False, prepared.warnings, prepared.defaults_applied)


def _replan(h: Handling, before: OrderRecord, after: OrderRecord, changed: list[Any], needs_approval: bool,
            reason: str) -> None:
    instance = h.instance(after.order_id)
    catalogue = h.processes()
    if instance.stage == Stage.SENT_BACK:
        instance = replace(instance, stage=Stage.RUNNING)  # submitted again: the rules decided above
    if instance.stage == Stage.RUNNING and needs_approval:
        instance = replace(instance, stage=Stage.AWAITING_APPROVAL)
    moving = instance.stage == Stage.RUNNING and not h.active_holds(after.order_id)
    whole = any(c.field_key.split(".")[0] in _REPLAN_ORDER_FIELDS for c in changed)
    touched = {before.order.lines[c.line_index].line_id for c in changed
               if c.line_index is not None and c.line_index < len(before.order.lines)
               and (c.field_key == "lines" or c.field_key in _REPLAN_LINE_FIELDS)}
    kept_ids = {line.line_id for line in after.order.lines}
    tracks: list[Track] = []
    commands: list[Command] = []
    for track in instance.tracks:
        process = catalogue.get(track.process_id)
        if track.done:
            tracks.append(track)
            continue
        if not set(track.line_ids) & kept_ids:
            new, sent = cancel_track(process, track, h.now)
        elif whole or set(track.line_ids) & touched:
            kept = replace(track, line_ids=tuple(i for i in track.line_ids if i in kept_ids))
            new, sent = replan(process, kept, h.now, restart=moving)
        else:
            new, sent = track, []
        if new != track:
            h.audit_steps(after.order_id, track, new, f"change order: {reason}")
        tracks.append(new)
        commands.extend(sent)
    covered = {i for t in tracks if not t.cancelled for i in t.line_ids}
    new_lines = [line for line in after.order.lines if line.line_id not in covered
                 and line.status not in (LineStatus.DELIVERED, LineStatus.SHIPPED, LineStatus.CANCELLED)]
    if new_lines:
        subset = after.order.model_copy(update={"lines": tuple(new_lines)})
        for track in h.plan(subset, h.customer(after.order), first=len(tracks) + 1):
            h.audit_steps(after.order_id, None, track, f"change order: {reason}")
            tracks.append(track)  # started below with the others, unless the order is stopped
    instance = replace(instance, tracks=tuple(tracks))
    if instance.stage == Stage.COMPLETED and not all(t.done for t in tracks):
        instance = replace(instance, stage=Stage.RUNNING)  # new work (an exchange) reopens the order
    instance = h.send(instance, commands)
    instance = h.save_instance(instance, instance.version, "change order")
    h.run(instance)


def _carry_line_state(before: Order, after: Order) -> Order:
    """Keep what fulfilment recorded on each line (status, promise, shipped and returned units).

    A revision states what the customer changes; a line's state is the
    system's, so a line given again keeps its own.
    """
    old = {line.line_id: line for line in before.lines}
    lines: list[OrderLine] = []
    for line in after.lines:
        previous = old.get(line.line_id)
        if previous is not None:
            line = line.model_copy(update={name: getattr(previous, name) for name in _LINE_STATE})
        else:
            line = line.model_copy(update={name: OrderLine.model_fields[name].default for name in _LINE_STATE})
        lines.append(line)
    return after.model_copy(update={"lines": tuple(lines)})


def cancel_order(cmd: CancelOrder, uow: UnitOfWork, deps: Dependencies) -> OrderRecord:
    """Cancel an order that has not shipped: compensate, release, void or refund — all or nothing."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        current = uow.orders.get(cmd.order_id)
        if cmd.expected_version is not None and current.version != cmd.expected_version:
            raise stale_version(current, cmd.expected_version)
        before = current.order
        if before.status in (OrderStatus.SHIPPED, OrderStatus.CLOSED, OrderStatus.CANCELLED) or any(
                line.status in (LineStatus.SHIPPED, LineStatus.DELIVERED) for line in before.lines):
            raise ProcessingConstraintError([FieldProblem(
                "status", f"an order that is {before.status.value} (or has shipped lines) cannot be cancelled; "
                          "return the shipped units instead")])
        lines = tuple(line.model_copy(update={"status": LineStatus.CANCELLED}) for line in before.lines)
        record = h.save_order(current, before.model_copy(update={"status": OrderStatus.CANCELLED, "lines": lines}),
                              cmd.reason, promises=())
        h.promiser().release(cmd.order_id)
        h.changed(Entity.ORDER, cmd.order_id, "cancelled", before.status.value, OrderStatus.CANCELLED.value,
                  cmd.order_id, cmd.reason)
        h.audit_reservations(current, record)
        instance = uow.processes.find(cmd.order_id)
        if instance is not None:
            catalogue = h.processes()
            tracks, commands = [], []
            for track in instance.tracks:
                if track.done:
                    tracks.append(track)
                    continue
                new, sent = cancel_track(catalogue.get(track.process_id), track, h.now)
                h.audit_steps(cmd.order_id, track, new, f"cancelled: {cmd.reason}")
                tracks.append(new)
                commands.extend(sent)
            instance = h.send(replace(instance, tracks=tuple(tracks), stage=Stage.CANCELLED), commands)
            h.save_instance(instance, instance.version, "cancelled")
        pending = h.pending_approval(cmd.order_id)
        if pending is not None:
            h.decide(pending, ApprovalStatus.REJECTED, "order cancelled", "system:cancel")
        h.void_or_refund_all(cmd.order_id, "order cancelled")
        h.happened(OrderCancelled(actor=h.actor, at=h.now, order_id=cmd.order_id, reason=cmd.reason))
        h.happened(StockMoved(actor="system:reorder", at=h.now, order_id=cmd.order_id, items=stock_items([before])))
        uow.commit()
    return record
