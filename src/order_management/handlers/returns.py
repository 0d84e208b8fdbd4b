"""Returns: authorised for shipped units, then received — refund, restock, replacement or exchange.

Receiving records per line how many units came back and how many of those
are damaged. Good units go back on hand where the line shipped from; the
order shows the returned units as a new version; refunds are exact unit
shares of the line's gross (:mod:`order_management.fulfilment.returns`); a
replacement sends a new shipment request; an exchange adds the new item to
the order as a revision, and captured payments are settled to what the
order now costs. One unit of work: all of it, or nothing.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from ..commands import AuthoriseReturn, ReceiveReturn
from ..errors import FieldProblem, OrderValidationError
from ..events import ShipmentRequested, StockMoved
from ..fulfilment.audit import Entity, plain
from ..fulfilment.process import Command, CommandKind
from ..fulfilment.returns import Resolution, ReturnAuthorisation, ReturnLine, line_gross, unit_refunds
from ..fulfilment.stock import SupplyStockLevels
from ..unit_of_work import UnitOfWork
from .changes import revise_in
from .context import Dependencies, Handling

__all__ = ["authorise_return", "receive_return"]


def authorise_return(cmd: AuthoriseReturn, uow: UnitOfWork, deps: Dependencies) -> ReturnAuthorisation:
    """Open a return authorisation for shipped units not yet returned; every problem is reported at once."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        record = h.record_of(cmd.order_id)
        problems: list[FieldProblem] = []
        earlier = uow.returns.for_order(cmd.order_id)
        lines = []
        for index, request in enumerate(cmd.lines):
            try:
                line = record.order.line(request.line_id)
            except KeyError:
                problems.append(FieldProblem(f"lines[{index}].line_id",
                                             f"order {cmd.order_id} has no line {request.line_id}"))
                continue
            open_qty = line.shipped_quantity - sum((rl.quantity for r in earlier for rl in r.lines
                                                    if rl.line_id == line.line_id), Decimal(0))
            if request.quantity > open_qty:
                problems.append(FieldProblem(f"lines[{index}].quantity",
                                             f"{request.quantity} cannot be returned: {open_qty} shipped and "
                                             "not yet returned"))
            if request.quantity != request.quantity.to_integral_value():
                problems.append(FieldProblem(f"lines[{index}].quantity", "whole units come back"))
            if (request.resolution == Resolution.EXCHANGE) != (request.exchange_sku is not None):
                problems.append(FieldProblem(f"lines[{index}].exchange_sku", "an exchange names the item to "
                                             "send instead (and only an exchange does)"))
            lines.append(ReturnLine(line.line_id, line.sku, request.quantity, request.reason, request.resolution,
                                    request.exchange_sku))
        if problems:
            raise OrderValidationError(problems)
        rma = ReturnAuthorisation(uow.returns.next_id("RMA"), cmd.order_id, tuple(lines), cmd.actor, h.now)
        uow.returns.put(rma.rma_id, cmd.order_id, rma)
        h.changed(Entity.RETURN, rma.rma_id, "authorised", None, plain(rma), cmd.order_id)
        uow.commit()
    return rma


def receive_return(cmd: ReceiveReturn, uow: UnitOfWork, deps: Dependencies) -> ReturnAuthorisation:
    """Record (received, damaged) per line and carry out each line's resolution."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        rma = uow.returns.get(cmd.rma_id)
        counts = {line.line_id: (line.received, line.damaged) for line in cmd.lines}
        problems = [FieldProblem(f"lines[{i}].received", "whole units come back")
                    for i, line in enumerate(cmd.lines)
                    if line.received != line.received.to_integral_value()
                    or line.damaged != line.damaged.to_integral_value()]
        if problems:
            raise OrderValidationError(problems)
        received = rma.received(counts, h.now)
        record = h.record_of(rma.order_id)
        gross = line_gross(record)
        credited_before: dict[str, Decimal] = {}
        for other in uow.returns.for_order(rma.order_id):
            for line in other.lines:
                if line.refund:
                    credited_before[line.line_id] = credited_before.get(line.line_id, Decimal(0)) \
                        + line.credited_units
        stock = SupplyStockLevels(uow.reservations)
        lines, exchanges, restocked = [], [], []
        for line in received.lines:
            order_line = record.order.line(line.line_id)
            units = line.credited_units
            refund = unit_refunds(gross[line.line_id], record.order.currency, order_line.quantity,
                                  credited_before.get(line.line_id, Decimal(0)), units) \
                if line.resolution in (Resolution.REFUND, Resolution.EXCHANGE) else Decimal(0)
            lines.append(replace(line, refund=refund))
            if line.restocked and order_line.ship_from:
                stock.restock(line.sku, order_line.ship_from, line.restocked)
                restocked.append((line.sku, order_line.ship_from))
                h.changed(Entity.RESERVATION, f"{rma.order_id}/{line.line_id}", "restocked", None,
                          {"sku": line.sku, "location": order_line.ship_from, "quantity": plain(line.restocked)},
                          rma.order_id, cmd.rma_id)
            if line.resolution == Resolution.EXCHANGE and units:
                exchanges.append((line, units))
            if line.resolution == Resolution.REPLACEMENT and units:
                command = Command(CommandKind.REQUEST_SHIPMENT, cmd.rma_id, "replacement", (line.line_id,), h.now)
                h.changed(Entity.STEP, command.command_id, f"sent {command.kind.value}", None, plain(command),
                          rma.order_id)
                h.happened(ShipmentRequested(actor=h.actor, at=h.now, order_id=rma.order_id, command=command))
        received = replace(received, lines=tuple(lines))
        uow.returns.put(cmd.rma_id, rma.order_id, received)
        came_back = {line.line_id: line.received for line in received.lines if line.received}
        if came_back:  # the order itself shows what came back, as a new version
            order = record.order
            after = order.model_copy(update={"lines": tuple(
                line.model_copy(update={"returned_quantity": line.returned_quantity + came_back[line.line_id]})
                if line.line_id in came_back else line for line in order.lines)})
            record = h.settle_status(rma.order_id, f"return {cmd.rma_id} received", after)
        h.changed(Entity.RETURN, cmd.rma_id, "received", plain(rma), plain(received), rma.order_id)
        if exchanges:
            new_lines: list[dict[str, Any]] = [line.model_dump(include=set(_INPUT_FIELDS))
                                               for line in record.order.lines]
            for line, units in exchanges:
                new_lines.append({"line_id": f"{line.line_id}-{cmd.rma_id}", "sku": line.exchange_sku,
                                  "quantity": units})
            revise_in(h, record, {"lines": new_lines}, f"exchange {cmd.rma_id}", reopen=True)
        else:
            h.settle(rma.order_id)
        if restocked:
            h.happened(StockMoved(actor="system:reorder", at=h.now, order_id=rma.order_id, items=tuple(restocked)))
        uow.commit()
    return received


_INPUT_FIELDS = ("line_id", "kind", "sku", "quantity", "unit", "product_model", "options", "service",
                 "requested_date", "manual_discounts")
