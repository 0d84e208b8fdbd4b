"""The order desk's actions beyond capture: quotes, approvals and holds.

Capture, revision and cancellation are the order layer's
(:class:`~order_management.OrderService`). Approving a discount and releasing a
hold belong to the orchestration package's approvals and holds once they are
in the library; until then these small functions are the host app's seam: each
writes a new order version (so the history shows who decided, when, and why)
and an audit event, and enforces the four-eyes rule — nobody approves an order
they entered or a discount they gave.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from oms_host.host import Host
from order_management import (
    FieldProblem,
    LineKind,
    LineStatus,
    OrderRecord,
    OrderStatus,
    OrderValidationError,
    ProcessingConstraintError,
    Revision,
    diff,
)
from order_management.service import problems_from_pydantic

__all__ = ["FourEyesError", "Quote", "approve", "quote", "reject", "release_hold"]


class FourEyesError(ProcessingConstraintError):
    """The same person cannot both enter and approve."""


@dataclass(frozen=True)
class Quote:
    """A priced draft: what capture would charge and what it would complain about."""

    pricing: Any
    problems: tuple[FieldProblem, ...]
    defaults_applied: tuple[str, ...]


def quote(host: Host, draft: Mapping[str, Any]) -> Quote:
    """Price ``draft`` as capture would (defaults applied), without storing or reserving anything."""
    import pydantic

    from order_management import Order

    data = dict(draft)
    data.setdefault("order_id", "QUOTE")
    try:
        order = Order.model_validate(data)
    except pydantic.ValidationError as exc:
        raise OrderValidationError(problems_from_pydantic(exc)) from None
    try:
        customer = host.customers.get(order.customer_id)
    except LookupError:
        raise OrderValidationError([FieldProblem("customer_id", f"unknown customer {order.customer_id!r}")]) from None
    as_of = host.clock.now().date()
    rules = host.service.rules
    order, applied = rules.apply_defaults(order, customer, as_of)
    problems: list[FieldProblem] = []
    products = host.service.products
    if products is not None:  # configured lines are checked and completed as capture would
        lines = []
        for index, line in enumerate(order.lines):
            if line.kind != LineKind.CONFIGURED:
                lines.append(line)
                continue
            try:
                configured = products.configure(line)
            except OrderValidationError as exc:
                problems.extend(FieldProblem(f"lines[{index}].{p.path}", p.message, "configurator")
                                for p in exc.problems)
                lines.append(line)
                continue
            lines.append(line.model_copy(update={"options": configured.options}))
        if problems:
            raise OrderValidationError(problems)
        order = order.model_copy(update={"lines": tuple(lines)})
    try:
        pricing = host.service.pricer.price(order, customer, as_of)
    except OrderValidationError as exc:
        raise OrderValidationError(exc.problems) from None
    from order_management.context import Totals

    totals = Totals(pricing.subtotal, pricing.tax, pricing.total, pricing.line_net)
    problems.extend(rules.validate(order, customer, as_of, totals).problems)
    return Quote(pricing, tuple(problems), tuple(applied))


def _entered_by(record: OrderRecord) -> set[str]:
    people = {record.revisions[0].actor} if record.revisions else set()
    order = record.order
    for discount in (*order.manual_discounts, *(d for line in order.lines for d in line.manual_discounts)):
        if discount.entered_by:
            people.add(discount.entered_by)
    return people


def _booked_status(record: OrderRecord) -> OrderStatus:
    if any(line.status == LineStatus.BACKORDERED for line in record.order.lines):
        return OrderStatus.BACKORDERED
    return OrderStatus.BOOKED


def _decide(host: Host, order_id: str, actor: str, expected: OrderStatus, new_status: OrderStatus,
            reason: str, kind: str, note: str) -> OrderRecord:
    with host.unit_of_work() as uow:
        current = uow.orders.get(order_id)
    if current.order.status != expected:
        raise ProcessingConstraintError([FieldProblem(
            "status", f"the order is {current.order.status.value}, not {expected.value}")])
    if actor in _entered_by(current):
        raise FourEyesError([FieldProblem(
            "status", f"{actor} entered this order or its discount; someone else must decide")])
    before = current.order
    after = before.model_copy(update={"status": new_status, "version": before.version + 1})
    now = host.clock.now()
    revision = Revision(after.version, now, actor, reason, tuple(diff(before, after)), after)
    record = OrderRecord(after, (*current.revisions, revision), current.pricing, current.promises,
                         () if kind == "hold_released" else current.hold_reasons, current.notes)
    with host.unit_of_work() as uow:
        uow.orders.update(record, expected_version=before.version)
        uow.commit()
    host.events.record(order_id, actor, kind, now, note=note, version=after.version)
    return record


def _in_fulfilment(host: Host, order_id: str) -> bool:
    return host.fulfilment is not None and host.fulfilment.records.processes.find(order_id) is not None


def _reload(host: Host, order_id: str) -> OrderRecord:
    with host.unit_of_work() as uow:
        return uow.orders.get(order_id)


def approve(host: Host, order_id: str, actor: str, note: str = "") -> OrderRecord:
    """Approve the discounts of an order awaiting approval; it becomes booked (or backordered).

    Once the order is in fulfilment, its approval step is the fulfilment service's.
    """
    with host.unit_of_work() as uow:
        current = uow.orders.get(order_id)
    if _in_fulfilment(host, order_id) and host.fulfilment is not None:
        if actor in _entered_by(current):
            raise FourEyesError([FieldProblem("status", f"{actor} entered this order; someone else must decide")])
        host.fulfilment.approve(order_id, actor, note)
        return _reload(host, order_id)
    return _decide(host, order_id, actor, OrderStatus.AWAITING_APPROVAL, _booked_status(current),
                   f"discount approved{': ' + note if note else ''}", "approved", note)


def reject(host: Host, order_id: str, actor: str, note: str) -> OrderRecord:
    """Reject an order awaiting approval: it is cancelled and its stock given back."""
    with host.unit_of_work() as uow:
        current = uow.orders.get(order_id)
    if current.order.status != OrderStatus.AWAITING_APPROVAL:
        raise ProcessingConstraintError([FieldProblem("status", "only an order awaiting approval can be rejected")])
    if actor in _entered_by(current):
        raise FourEyesError([FieldProblem("status", f"{actor} entered this order; someone else must decide")])
    record = host.service.cancel(order_id, actor, f"discount rejected: {note}")
    host.events.record(order_id, actor, "rejected", host.clock.now(), note=note, version=record.version)
    return record


def release_hold(host: Host, order_id: str, actor: str, note: str = "") -> OrderRecord:
    """Release an order from hold: it goes on to approval if its price needs one, else it is booked.

    Once the order is in fulfilment, its holds are the fulfilment service's: each active one is released.
    """
    with host.unit_of_work() as uow:
        current = uow.orders.get(order_id)
    if _in_fulfilment(host, order_id) and host.fulfilment is not None:
        holds = host.fulfilment.active_holds(order_id)
        if any(h.placed_by == actor for h in holds):
            raise FourEyesError([FieldProblem("status", f"{actor} placed a hold on this order; someone else "
                                                        "must release it")])
        for hold in holds:
            host.fulfilment.release_hold(hold.hold_id, actor, note)
        return _reload(host, order_id)
    needs_approval = bool(current.pricing and current.pricing.requires_approval)
    target = OrderStatus.AWAITING_APPROVAL if needs_approval else _booked_status(current)
    return _decide(host, order_id, actor, OrderStatus.ON_HOLD, target,
                   f"hold released{': ' + note if note else ''}", "hold_released", note)


