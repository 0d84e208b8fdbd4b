"""The order layer's bridge to promising: orders in, line promises out.

:class:`SupplyPromiser` implements the :class:`~order_management.ports.Promiser`
port with the :mod:`order_management.promising` package: an order becomes a
demand request (ship-to, customer, segment, channel, demand class; each line's
requested date and, for configured products, its build time), the promise
comes back per line with its ship-from locations, delivery date and reason.
A configured line whose product model gives a build time is made to order:
it is promised at ``as_of`` + build time (+ transit), whatever the stock of
its SKU. Service lines need no supply: they are promised for ``as_of``. The reservation
is keyed by the order id, so releasing an order gives back all of it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from . import promising as pr
from .errors import DuplicateOrderError, FieldProblem, OrderValidationError
from .model import Customer, LineKind, LineStatus, Order
from .ports import LinePromise, LinePromiseStatus

__all__ = ["SupplyPromiser", "demand_request"]

#: Lines that need no supply any more: shipped, delivered or cancelled units are not promised again.
_DONE = (LineStatus.SHIPPED, LineStatus.DELIVERED, LineStatus.CANCELLED)


def demand_request(order: Order, customer: Customer,
                   lead_times: Mapping[str, int] | None = None) -> pr.DemandRequest | None:
    """The promising request for ``order``'s goods lines (None when it has none)."""
    problems: list[FieldProblem] = []
    lines = []
    for index, line in enumerate(order.lines):
        if line.kind == LineKind.SERVICE or line.status in _DONE:
            continue
        if line.quantity != line.quantity.to_integral_value():
            problems.append(FieldProblem(f"lines[{index}].quantity",
                                         "supply is promised in whole units; this quantity has a fraction"))
            continue
        lines.append(pr.DemandLine(
            line_id=line.line_id, item=line.sku, quantity=int(line.quantity),
            requested_on=line.requested_date or order.requested_date,
            lead_time_days=(lead_times or {}).get(line.line_id),
            make_to_order=line.line_id in (lead_times or {}),
        ))
    if order.ship_to is None and lines:
        problems.append(FieldProblem("ship_to", "a ship-to address is needed to promise delivery"))
    if problems:
        raise OrderValidationError(problems)
    if not lines:
        return None
    assert order.ship_to is not None
    address = order.ship_to.address
    return pr.DemandRequest(
        reference=order.order_id, lines=tuple(lines),
        ship_to=pr.ShipTo(country=address.country, region=address.region, postal_code=address.postal_code),
        customer=customer.id, customer_segment=customer.segment, channel=order.channel.value,
        demand_class=customer.demand_class,
    )


class SupplyPromiser:
    """Promises and reserves against a reservation store with the bundle's sourcing rules."""

    def __init__(self, store: pr.ReservationStore, rules: pr.PromisingRules) -> None:
        self.store = store
        self.rules = rules

    def check(self, order: Order, customer: Customer, as_of: dt.date,
              lead_times: Mapping[str, int] | None = None) -> list[LinePromise]:
        request = demand_request(order, customer, lead_times)
        try:
            plan = pr.check_availability(self.store, request, self.rules, as_of=as_of) if request else None
        except pr.PromisingInputError as exc:
            raise OrderValidationError([_problem(exc)]) from None
        return _promises(order, plan, as_of)

    def reserve(self, order: Order, customer: Customer, as_of: dt.date,
                lead_times: Mapping[str, int] | None = None) -> list[LinePromise]:
        return self._commit(pr.promise, order, customer, as_of, lead_times)

    def repromise(self, order: Order, customer: Customer, as_of: dt.date,
                  lead_times: Mapping[str, int] | None = None) -> list[LinePromise]:
        request = demand_request(order, customer, lead_times)
        if request is None:  # nothing left to supply: give back what the old version held
            self.release(order.order_id)
            return _promises(order, None, as_of)
        return self._commit(pr.repromise, order, customer, as_of, lead_times)

    def _commit(self, how: Any, order: Order, customer: Customer, as_of: dt.date,
                lead_times: Mapping[str, int] | None) -> list[LinePromise]:
        request = demand_request(order, customer, lead_times)
        if request is None:
            return _promises(order, None, as_of)
        try:
            result = how(self.store, request, self.rules, as_of=as_of, reservation_id=order.order_id)
        except pr.PromisingInputError as exc:
            raise OrderValidationError([_problem(exc)]) from None
        except pr.DuplicateReservationError:
            raise DuplicateOrderError(f"order {order.order_id} already holds a reservation") from None
        return _promises(order, result.plan, as_of)

    def release(self, order_id: str) -> None:
        # Unknown: nothing was reserved (all services, or everything backordered without a plan).
        with contextlib.suppress(pr.UnknownNameError):
            self.store.release(order_id)


def _problem(error: pr.PromisingInputError) -> FieldProblem:
    """A promising input error on the order's own field (the demand class is the customer's)."""
    loc = tuple(error.loc)
    if loc[:1] == ("demand_class",):
        return FieldProblem("customer_id", f"the customer's demand class: {error}", "promising")
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return FieldProblem(text or "order", str(error), "promising")


def _promises(order: Order, plan: pr.PromisePlan | None, as_of: dt.date) -> list[LinePromise]:
    by_line = {line.line_id: line for line in plan.lines} if plan else {}
    promises = []
    for line in order.lines:
        found = by_line.get(line.line_id)
        if line.status in _DONE:
            continue
        if found is None:
            promises.append(LinePromise(line.line_id, LinePromiseStatus.UNLIMITED, as_of, (),
                                        "a service: nothing to reserve"))
            continue
        ship_from = tuple((s.location, Decimal(s.quantity)) for s in found.shipments)
        status = {pr.LineStatus.ON_TIME: LinePromiseStatus.RESERVED,
                  pr.LineStatus.DELAYED: LinePromiseStatus.RESERVED,
                  pr.LineStatus.PARTIAL: LinePromiseStatus.PARTIAL,
                  pr.LineStatus.BACKORDERED: LinePromiseStatus.BACKORDERED}[found.status]
        promises.append(LinePromise(line.line_id, status, found.promised_on, ship_from, found.reason))
    return promises
