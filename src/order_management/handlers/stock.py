"""Stock follow-ups: reorder points asked after stock moved, replenishment received, jeopardy scanned.

Reorder points are event rules (``reorder`` section): when an item's
available stock at a location falls to its minimum, one replenishment request
orders it up to its maximum (never two open requests for the same item and
location). Receiving a request puts its units on hand there.

The jeopardy scan projects every open line of orders in fulfilment, asks the
jeopardy rules, and raises, re-prioritises or clears alerts; an order that
closes or is cancelled has its alerts cleared by :func:`clear_alerts`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal

from ..commands import CheckReorder, ClearAlerts, ReceiveReplenishment, ScanJeopardy
from ..errors import FieldProblem, ProcessingConstraintError
from ..events import StockMoved
from ..fulfilment.audit import Entity, plain
from ..fulfilment.durable_adapter import DurableRulesAdapter
from ..fulfilment.errors import RuleActionError
from ..fulfilment.event_rules import FactType, Priority, RuleSection
from ..fulfilment.jeopardy import LineProjection, project_lines, reconcile
from ..fulfilment.records import JeopardyAlert, ReplenishmentRequest, ReplenishmentStatus, Stage
from ..fulfilment.stock import available_in
from ..model import Customer
from ..promising import SupplyPosition
from ..unit_of_work import UnitOfWork
from .context import Dependencies, Handling, fired

__all__ = ["JeopardyReport", "check_reorder", "clear_alerts", "receive_replenishment", "scan_jeopardy"]


@dataclass(frozen=True)
class JeopardyReport:
    raised: tuple[JeopardyAlert, ...] = ()
    cleared: tuple[JeopardyAlert, ...] = ()
    changed: tuple[JeopardyAlert, ...] = ()
    errors: tuple[RuleActionError, ...] = ()
    orders: int = 0


def check_reorder(cmd: CheckReorder, uow: UnitOfWork, deps: Dependencies) -> list[ReplenishmentRequest]:
    """Ask the reorder points about ``items`` (sku, location); one open request per item at most.

    Stock is read and the rules asked before the unit of work begins: most
    checks fire nothing, and then nothing is locked or written.
    """
    if deps.event_rules is None:
        return []
    watched = reorder_points(deps.event_rules)
    items = [item for item in dict.fromkeys(cmd.items) if item in watched]
    if not items:  # no reorder point watches these: nothing to ask the engine
        return []
    snapshot = uow.reservations.snapshot({sku for sku, _ in items})
    facts = []
    for sku, location in items:
        available = available_in(snapshot, (sku, location))
        facts.append({"type": FactType.STOCK.value, "sku": sku, "location": location,
                      "available": int(available.to_integral_value(rounding="ROUND_FLOOR")),
                      "_available": str(available)})
    evaluation = deps.event_rules.evaluate("stock", facts)
    evaluation.raise_for_errors()
    firings = fired(evaluation, RuleSection.REORDER)
    if not firings:
        return []
    with uow:
        h = Handling(uow, deps, cmd.actor)
        created = []
        open_requests = {(r.sku, r.location) for r in uow.replenishments.all()
                         if r.status == ReplenishmentStatus.OPEN}
        for firing in firings:
            payload = firing.rule.payload
            key = (payload["sku"], payload["location"])
            if key in open_requests:
                continue
            available = Decimal(str(firing.fact["_available"]))
            request = ReplenishmentRequest(uow.replenishments.next_id("REPL"), key[0], key[1],
                                           Decimal(payload["max"]) - available, available, payload["min"],
                                           payload["max"], h.now, firing.rule.key)
            uow.replenishments.put(request.request_id, "", request)
            h.changed(Entity.REPLENISHMENT, request.request_id, "requested", None, plain(request), None)
            open_requests.add(key)
            created.append(request)
        uow.commit()
    return created


def reorder_points(rules: DurableRulesAdapter) -> frozenset[tuple[str, str]]:
    """The (item, location) pairs that reorder rules watch."""
    return frozenset((str(r.payload["sku"]), str(r.payload["location"])) for r in rules.rules.values()
                     if r.section == RuleSection.REORDER)


def receive_replenishment(cmd: ReceiveReplenishment, uow: UnitOfWork, deps: Dependencies) -> ReplenishmentRequest:
    """The replenishment arrived: its units go on hand at its location and the request is received."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        request = uow.replenishments.get(cmd.request_id)
        if request.status != ReplenishmentStatus.OPEN:
            raise ProcessingConstraintError([FieldProblem("status", f"replenishment {cmd.request_id} is "
                                                                    f"{request.status.value}, not open")])
        quantity = cmd.quantity if cmd.quantity is not None else request.quantity
        if quantity != quantity.to_integral_value():
            raise ProcessingConstraintError([FieldProblem("quantity", "whole units are received")])
        snapshot = uow.reservations.snapshot([request.sku])
        key = (request.sku, request.location)
        position = snapshot.position(key) or SupplyPosition(item=request.sku, location=request.location, on_hand=0)
        uow.reservations.put_supply(position.model_copy(update={"on_hand": position.on_hand + int(quantity)}),
                                    expected_version=snapshot.version(key))
        done = replace(request, status=ReplenishmentStatus.RECEIVED)
        uow.replenishments.put(request.request_id, "", done)
        h.changed(Entity.REPLENISHMENT, request.request_id, f"received {quantity}", plain(request), plain(done),
                  None)
        h.happened(StockMoved(actor="system:reorder", at=h.now, items=(key,)))
        uow.commit()
    return done


def scan_jeopardy(cmd: ScanJeopardy, uow: UnitOfWork, deps: Dependencies) -> JeopardyReport:
    """Project open lines of orders in fulfilment, ask the jeopardy rules, raise and clear alerts.

    One order at a time, each in a unit of work of its own: an order whose
    rule action fails keeps its alerts, gets the error recorded, and is
    reported in ``errors``; the others go on.
    """
    if deps.event_rules is None or deps.processes is None:
        return JeopardyReport()
    wanted = set(cmd.order_ids) if cmd.order_ids is not None else None
    with uow:
        order_ids = [i.order_id for i in uow.processes.all() if wanted is None or i.order_id in wanted]
    raised: list[JeopardyAlert] = []
    cleared: list[JeopardyAlert] = []
    changed: list[JeopardyAlert] = []
    errors: list[RuleActionError] = []
    customers: dict[str, Customer] = {}
    scanned = 0
    for order_id in order_ids:
        try:
            with uow:
                moves = _scan_one(Handling(uow, deps, cmd.actor), order_id, customers)
                uow.commit()
        except RuleActionError as error:
            errors.append(error)
            with uow:
                Handling(uow, deps, cmd.actor).record_rule_failure(order_id, error)
                uow.commit()
            continue
        if moves is None:
            continue
        scanned += 1
        for before, after in moves:
            bucket = raised if before is None else cleared if after is None else changed
            alert = after or before
            if alert is not None:
                bucket.append(alert)
    return JeopardyReport(tuple(raised), tuple(cleared), tuple(changed), tuple(errors), scanned)


def _scan_one(h: Handling, order_id: str, customers: dict[str, Customer],
              ) -> list[tuple[JeopardyAlert | None, JeopardyAlert | None]] | None:
    instance = h.uow.processes.find(order_id)
    open_stages = (Stage.RUNNING, Stage.AWAITING_APPROVAL)  # waiting for a decision can miss a date too
    if instance is None:
        return None
    if instance.stage not in open_stages:
        _clear(h, order_id)  # done orders keep no alert, whatever an earlier scan left
        return None
    record = h.record_of(order_id)
    customer = customers.get(record.order.customer_id) or h.customer(record.order)
    customers[customer.id] = customer
    catalogue = h.processes()
    projections: dict[str, LineProjection] = {}
    for track in instance.tracks:
        for projection in project_lines(catalogue.get(track.process_id), track, record.order, h.now):
            projections[projection.line_id] = projection
    facts = [h.line_fact(record, customer, p) for p in projections.values()]
    assert h.deps.event_rules is not None
    evaluation = h.deps.event_rules.evaluate(order_id, facts)
    evaluation.raise_for_errors()
    verdicts: dict[str, tuple[Priority, str]] = {}
    for firing in fired(evaluation, RuleSection.JEOPARDY):
        line_id = str(firing.fact["line__line_id"]) if "line__line_id" in firing.fact else str(firing.fact["line__id"])
        priority = Priority(firing.rule.payload["priority"])
        if line_id not in verdicts or priority.rank > verdicts[line_id][0].rank:
            verdicts[line_id] = (priority, firing.rule.id)
    alerts, moves = reconcile(order_id, instance.alerts, projections, verdicts, h.now)
    if not moves:
        return moves
    for before, after in moves:
        alert = after or before
        what = "raised" if before is None else "cleared" if after is None else "re-prioritised"
        if alert is not None:
            h.changed(Entity.JEOPARDY, f"{order_id}/{alert.line_id}", what, plain(before), plain(after), order_id)
    h.save_instance(replace(instance, alerts=alerts), instance.version, "jeopardy")
    return moves


def _clear(h: Handling, order_id: str) -> None:
    instance = h.uow.processes.find(order_id)
    if instance is None or not instance.alerts:
        return
    for alert in instance.alerts:
        h.changed(Entity.JEOPARDY, f"{order_id}/{alert.line_id}", "cleared", plain(alert), None, order_id,
                  f"the order is {instance.stage.value}")
    h.save_instance(replace(instance, alerts=()), instance.version, "jeopardy cleared")


def clear_alerts(cmd: ClearAlerts, uow: UnitOfWork, deps: Dependencies) -> None:
    """Follow-up of closing or cancelling: the order's jeopardy alerts are cleared."""
    with uow:
        _clear(Handling(uow, deps, cmd.actor), cmd.order_id)
        uow.commit()
