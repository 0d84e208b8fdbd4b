"""People deciding about an order: holds placed and released, approvals given or refused.

Four eyes: nobody approves an order they entered or a discount they gave,
and nobody releases a hold they placed. An approval that names a role
(``sales_director``) is given only by someone acting in it. A rejection
sends the order back to the desk (status ``entered``) to be changed; a
revision then submits it again.
"""

from __future__ import annotations

from dataclasses import replace

from ..commands import ApproveOrder, PlaceHold, RejectOrder, ReleaseHold
from ..errors import FieldProblem, NotPermittedError, ProcessingConstraintError
from ..fulfilment.records import Approval, ApprovalStatus, Hold, ProcessInstance, Stage
from ..model import OrderStatus
from ..ports import OrderRecord
from ..unit_of_work import UnitOfWork
from .context import Dependencies, Handling
from .progress import resume

__all__ = ["approve_order", "entered_by", "place_hold", "reject_order", "release_hold"]


def entered_by(record: OrderRecord) -> set[str]:
    """Who entered the order or any of its manual discounts."""
    people = {record.revisions[0].actor} if record.revisions else set()
    order = record.order
    for discount in (*order.manual_discounts, *(d for line in order.lines for d in line.manual_discounts)):
        if discount.entered_by:
            people.add(discount.entered_by)
    return people


def place_hold(cmd: PlaceHold, uow: UnitOfWork, deps: Dependencies) -> Hold:
    """Stop the order's progress until the hold is released."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        record = h.record_of(cmd.order_id)
        if record.order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED):
            raise ProcessingConstraintError([FieldProblem("status", f"an order that is "
                                                                    f"{record.order.status.value} cannot be held")])
        hold = h.new_hold(cmd.order_id, cmd.reason, "person")
        h.settle_status(cmd.order_id, f"hold: {cmd.reason}")
        uow.commit()
    return hold


def release_hold(cmd: ReleaseHold, uow: UnitOfWork, deps: Dependencies) -> OrderRecord:
    """Release one hold, or all of the order's; with none left the order moves on and waiting events apply."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        holds = h.active_holds(cmd.order_id)
        if cmd.hold_id is not None:
            holds = [hold for hold in holds if hold.hold_id == cmd.hold_id]
        if not holds:
            raise ProcessingConstraintError([FieldProblem("hold_id" if cmd.hold_id else "status",
                                                          f"order {cmd.order_id} has no such active hold")])
        for hold in holds:
            if hold.source == "person" and hold.placed_by == cmd.actor:
                raise NotPermittedError(f"{cmd.actor} placed hold {hold.hold_id}; someone else must release it")
            h.release(hold, cmd.note)
        instance = uow.processes.find(cmd.order_id)
        if instance is not None:
            resume(h, instance)
        record = h.settle_status(cmd.order_id, "hold released" + (f": {cmd.note}" if cmd.note else ""))
        uow.commit()
    return record


def _pending(h: Handling, order_id: str) -> Approval:
    pending = h.pending_approval(order_id)
    if pending is None:
        raise ProcessingConstraintError([FieldProblem("status", f"order {order_id} has no pending approval")])
    return pending


def _may_decide(h: Handling, approval: Approval, record: OrderRecord, roles: frozenset[str]) -> None:
    if h.actor in entered_by(record):
        raise NotPermittedError(f"{h.actor} entered this order or its discount; someone else must decide")
    if approval.role is not None and approval.role not in roles:
        raise NotPermittedError(f"order {record.order_id} needs approval by a {approval.role}"
                                + (f"; you act as {', '.join(sorted(roles))}" if roles else ""))


def approve_order(cmd: ApproveOrder, uow: UnitOfWork, deps: Dependencies) -> OrderRecord:
    """Approve the pending approval; the order is booked, or its process starts (unless a hold stops it)."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        record = h.record_of(cmd.order_id)
        approval = _pending(h, cmd.order_id)
        _may_decide(h, approval, record, cmd.roles)
        h.decide(approval, ApprovalStatus.APPROVED, cmd.note)
        instance = uow.processes.find(cmd.order_id)
        if instance is not None and instance.stage == Stage.AWAITING_APPROVAL:
            instance = h.save_instance(replace(instance, stage=Stage.RUNNING), instance.version, "approved")
            resume(h, instance)
        record = h.settle_status(cmd.order_id, "approved" + (f": {cmd.note}" if cmd.note else ""))
        uow.commit()
    return record


def reject_order(cmd: RejectOrder, uow: UnitOfWork, deps: Dependencies) -> OrderRecord:
    """Refuse the approval: the order goes back to the desk (``entered``) to be changed and resubmitted."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        record = h.record_of(cmd.order_id)
        approval = _pending(h, cmd.order_id)
        _may_decide(h, approval, record, cmd.roles)
        h.decide(approval, ApprovalStatus.REJECTED, cmd.reason)
        instance: ProcessInstance | None = uow.processes.find(cmd.order_id)
        if instance is not None:
            h.save_instance(replace(instance, stage=Stage.SENT_BACK), instance.version, "rejected")
        record = h.settle_status(cmd.order_id, f"approval rejected: {cmd.reason}")
        uow.commit()
    return record
