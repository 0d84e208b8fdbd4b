"""Capturing and revising orders: the order layer's thin service.

:class:`OrderService` is the imperative shell around the pure pieces. Capture
runs, in this order: defaulting rules → configurator check of configured lines
→ pricing → validation rules (with the priced totals) → promising and
reservation → one atomic save. Every problem found before the save is reported
at once, with field paths, and nothing is stored or reserved for a rejected
order. If the save itself fails, the reservations just made are released.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pydantic

from .context import Totals
from .errors import DuplicateOrderError, FieldProblem, OrderValidationError, ProcessingConstraintError, Severity
from .model import Customer, LineKind, LineStatus, Order, OrderLine, OrderStatus
from .ports import (
    Clock,
    CustomerDirectory,
    LinePromise,
    LinePromiseStatus,
    OrderRecord,
    Pricer,
    ProductChecker,
    Promiser,
    UnitOfWork,
)
from .revisions import Revision, diff
from .rules import OrderRules

__all__ = ["CaptureResult", "OrderService", "problems_from_pydantic"]


@dataclass(frozen=True)
class CaptureResult:
    """A stored order with what capture computed and noted."""

    record: OrderRecord
    created: bool = True
    warnings: tuple[FieldProblem, ...] = ()
    defaults_applied: tuple[str, ...] = ()

    @property
    def order(self) -> Order:
        return self.record.order


def problems_from_pydantic(error: pydantic.ValidationError, prefix: str = "") -> list[FieldProblem]:
    """pydantic's errors as field problems (``orders[3].lines[2].quantity``)."""
    problems = []
    for item in error.errors(include_url=False):
        path = prefix
        for part in item["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += f".{part}" if path else str(part)
        problems.append(FieldProblem(path or "order", item["msg"]))
    return problems


@dataclass
class OrderService:
    """Capture, revise and cancel orders against rules, prices and supply."""

    rules: OrderRules
    customers: CustomerDirectory
    unit_of_work: Callable[[], UnitOfWork]
    clock: Clock
    pricer: Pricer
    promiser: Promiser
    products: ProductChecker | None = None
    today: Callable[[dt.datetime], dt.date] = field(default=lambda now: now.date())

    # -- capture -----------------------------------------------------------------
    def capture(self, draft: Order | Mapping[str, Any], actor: str, reason: str = "captured") -> CaptureResult:
        """Validate, price, promise, reserve and store a new order.

        Raises :class:`OrderValidationError` listing every problem; nothing is
        stored or reserved then. An order imported twice (same source system
        and external reference) is returned as it was, not created again.
        """
        order = self._parse(draft)
        with self.unit_of_work() as uow:
            if order.source_system and order.external_ref:
                existing = uow.orders.find_by_external_ref(order.source_system, order.external_ref)
                if existing is not None:
                    return CaptureResult(existing, created=False)
        customer = self._customer(order)
        now = self.clock.now()
        as_of = self.today(now)
        order, applied = self.rules.apply_defaults(order, customer, as_of)
        order, lead_times = self._configure(order)
        pricing, warnings, holds = self._check(order, customer, as_of)
        try:
            promises = self.promiser.reserve(order, customer, as_of, lead_times)
        except DuplicateOrderError:  # the same order id is being captured elsewhere: nothing of ours to release
            return self._already_imported(order)
        order = _with_promises(order, promises)
        order = order.model_copy(update={"status": _status(order, pricing.requires_approval, holds)})
        revision = Revision(1, now, actor, reason, (), order)
        record = OrderRecord(order, (revision,), pricing, tuple(promises), tuple(holds))
        try:
            with self.unit_of_work() as uow:
                uow.orders.add(record)
                uow.commit()
        except DuplicateOrderError:
            self.promiser.release(order.order_id)  # ours: reserve succeeded, so no one else holds this id
            return self._already_imported(order)
        except Exception:
            self.promiser.release(order.order_id)
            raise
        return CaptureResult(record, True, tuple(warnings), tuple(applied))

    def _already_imported(self, order: Order) -> CaptureResult:
        """The stored order of a concurrent capture of the same import; re-raises if there is none."""
        if order.source_system and order.external_ref:
            with self.unit_of_work() as uow:
                existing = uow.orders.find_by_external_ref(order.source_system, order.external_ref)
            if existing is not None:
                return CaptureResult(existing, created=False)
        raise DuplicateOrderError(f"order {order.order_id} (or its import key) exists")

    def check(self, draft: Order | Mapping[str, Any]) -> list[FieldProblem]:
        """Every problem capture would report for ``draft``, without reserving or storing.

        An order that was already imported (same import key) has no problems:
        capturing it again returns the stored order.
        """
        try:
            order = self._parse(draft)
            with self.unit_of_work() as uow:
                if order.source_system and order.external_ref and uow.orders.find_by_external_ref(
                        order.source_system, order.external_ref):
                    return []
            customer = self._customer(order)
            as_of = self.today(self.clock.now())
            order, _ = self.rules.apply_defaults(order, customer, as_of)
            order, _ = self._configure(order)
            self._check(order, customer, as_of)
        except OrderValidationError as exc:
            return [p for p in exc.problems if p.severity == Severity.ERROR]
        return []

    def check_availability(self, draft: Order | Mapping[str, Any]) -> list[LinePromise]:
        """What could be promised for ``draft`` now; commits nothing."""
        order = self._parse(draft)
        customer = self._customer(order)
        as_of = self.today(self.clock.now())
        order, _ = self.rules.apply_defaults(order, customer, as_of)
        order, lead_times = self._configure(order)
        return self.promiser.check(order, customer, as_of, lead_times)

    # -- revise and cancel ----------------------------------------------------------
    def revise(self, order_id: str, changes: Mapping[str, Any], actor: str, reason: str) -> CaptureResult:
        """Apply ``changes`` (top-level fields; ``lines`` replaces the lines) as a new version.

        Processing constraints are checked against the order's current status;
        a forbidden change raises :class:`ProcessingConstraintError` with each
        rule's message. The new version is re-validated, re-priced and
        re-promised; its reservations replace the old ones.
        """
        with self.unit_of_work() as uow:
            current = uow.orders.get(order_id)
        before = current.order
        forbidden_keys = {"order_id", "version", "status", "source_system", "external_ref"}
        bad = sorted(set(changes) & forbidden_keys)
        if bad:
            raise OrderValidationError([FieldProblem(k, "cannot be changed by a revision") for k in bad])
        data = before.model_dump()
        data.update({k: _dump(v) for k, v in changes.items()})
        data["version"] = before.version + 1
        after = _carry_line_state(before, self._parse(data))
        customer = self._customer(after)
        now = self.clock.now()
        as_of = self.today(now)
        blocked = self.rules.check_change(before, after, customer, as_of)
        if blocked:
            raise ProcessingConstraintError(blocked)
        changed = diff(before, after)
        if not changed:
            return CaptureResult(current, created=False)
        after, applied = self.rules.apply_defaults(after, customer, as_of)
        after, lead_times = self._configure(after)
        pricing, warnings, holds = self._check(after, customer, as_of)
        promises = self.promiser.repromise(after, customer, as_of, lead_times)
        after = _with_promises(after, promises)
        after = after.model_copy(update={"status": _status(after, pricing.requires_approval, holds)})
        revision = Revision(after.version, now, actor, reason, tuple(changed), after)
        record = OrderRecord(after, (*current.revisions, revision), pricing, tuple(promises), tuple(holds))
        with self.unit_of_work() as uow:
            uow.orders.update(record, expected_version=before.version)
            uow.commit()
        return CaptureResult(record, False, tuple(warnings), tuple(applied))

    def record_returns(self, order_id: str, returned: Mapping[str, Decimal], actor: str, reason: str) -> OrderRecord:
        """Add units received back to their lines, as a new version of the order.

        Nothing is re-priced or re-promised: the sale happened; the refund is
        settled by fulfilment. More units than were ordered cannot come back.
        """
        with self.unit_of_work() as uow:
            current = uow.orders.get(order_id)
        before = current.order
        problems = []
        lines = []
        for index, line in enumerate(before.lines):
            units = Decimal(returned.get(line.line_id, 0))
            total = line.returned_quantity + units
            if units < 0 or total > line.quantity:
                problems.append(FieldProblem(f"lines[{index}].returned_quantity",
                                             f"{total} returned of {line.quantity} ordered"))
            lines.append(line.model_copy(update={"returned_quantity": total}) if units else line)
        unknown = sorted(set(returned) - {line.line_id for line in before.lines})
        problems.extend(FieldProblem("lines", f"no line {line_id!r} on order {order_id}") for line_id in unknown)
        if problems:
            raise OrderValidationError(problems)
        after = before.model_copy(update={"lines": tuple(lines), "version": before.version + 1})
        revision = Revision(after.version, self.clock.now(), actor, reason, tuple(diff(before, after)), after)
        record = OrderRecord(after, (*current.revisions, revision), current.pricing, current.promises,
                             current.hold_reasons)
        with self.unit_of_work() as uow:
            uow.orders.update(record, expected_version=before.version)
            uow.commit()
        return record

    def cancel(self, order_id: str, actor: str, reason: str) -> OrderRecord:
        """Cancel an order that has not shipped; its reservations are released."""
        with self.unit_of_work() as uow:
            current = uow.orders.get(order_id)
        before = current.order
        if before.status in (OrderStatus.SHIPPED, OrderStatus.CLOSED, OrderStatus.CANCELLED):
            raise ProcessingConstraintError([FieldProblem(
                "status", f"an order that is {before.status.value} cannot be cancelled")])
        lines = tuple(line.model_copy(update={"status": LineStatus.CANCELLED}) for line in before.lines)
        after = before.model_copy(update={"status": OrderStatus.CANCELLED, "lines": lines,
                                          "version": before.version + 1})
        revision = Revision(after.version, self.clock.now(), actor, reason, tuple(diff(before, after)), after)
        record = OrderRecord(after, (*current.revisions, revision), current.pricing, (), current.hold_reasons)
        with self.unit_of_work() as uow:
            uow.orders.update(record, expected_version=before.version)
            uow.commit()
        self.promiser.release(order_id)
        return record

    # -- steps -----------------------------------------------------------------------
    def _parse(self, draft: Order | Mapping[str, Any]) -> Order:
        if isinstance(draft, Order):
            return draft
        data = dict(draft)
        if not data.get("order_id"):
            with self.unit_of_work() as uow:
                data["order_id"] = uow.orders.next_order_id()
        try:
            return Order.model_validate(data)
        except pydantic.ValidationError as exc:
            raise OrderValidationError(problems_from_pydantic(exc)) from None

    def _customer(self, order: Order) -> Customer:
        try:
            return self.customers.get(order.customer_id)
        except LookupError:
            problem = FieldProblem("customer_id", f"unknown customer {order.customer_id!r}")
            raise OrderValidationError([problem]) from None

    def _configure(self, order: Order) -> tuple[Order, dict[str, int]]:
        """Configured lines checked and completed; their build times by line id."""
        if self.products is None:
            return order, {}
        problems: list[FieldProblem] = []
        lines = []
        lead_times: dict[str, int] = {}
        for index, line in enumerate(order.lines):
            if line.kind != LineKind.CONFIGURED:
                lines.append(line)
                continue
            try:
                configured = self.products.configure(line)
            except OrderValidationError as exc:
                problems.extend(FieldProblem(f"lines[{index}].{p.path}", p.message, p.rule or "configurator",
                                             p.severity) for p in exc.problems)
                lines.append(line)
                continue
            lines.append(line.model_copy(update={"options": configured.options}))
            if configured.lead_time_days is not None:
                lead_times[line.line_id] = configured.lead_time_days
        if problems:
            raise OrderValidationError(problems)
        return order.model_copy(update={"lines": tuple(lines)}), lead_times

    def _check(self, order: Order, customer: Customer, as_of: dt.date) -> tuple[Any, list[FieldProblem], list[str]]:
        """Pricing and validation rules: all problems at once, or the results."""
        problems: list[FieldProblem] = []
        if customer.blocked:
            problems.append(FieldProblem("customer_id", f"customer {customer.id} is blocked"))
        pricing = None
        try:
            pricing = self.pricer.price(order, customer, as_of)
        except OrderValidationError as exc:
            problems.extend(exc.problems)
        totals = Totals(pricing.subtotal, pricing.tax, pricing.total, pricing.line_net) if pricing else None
        outcome = self.rules.validate(order, customer, as_of, totals)
        problems.extend(outcome.problems)
        errors = [p for p in problems if p.severity == Severity.ERROR]
        if errors:
            raise OrderValidationError(problems)
        return pricing, [p for p in problems if p.severity != Severity.ERROR], list(outcome.hold_reasons)


_LINE_STATE = ("status", "promised_date", "ship_from", "shipped_quantity", "returned_quantity")


def _carry_line_state(before: Order, after: Order) -> Order:
    """Keep what fulfilment recorded on each line (status, promise, shipped units).

    A revision states what the customer changes; a line's status and promise
    are the system's, so a line given again without them keeps its own.
    """
    old = {line.line_id: line for line in before.lines}
    defaults = {name: OrderLine.model_fields[name].default for name in _LINE_STATE}
    lines = []
    for line in after.lines:
        previous = old.get(line.line_id)
        if previous is not None:
            update = {name: getattr(previous, name) for name in _LINE_STATE
                      if getattr(line, name) == defaults[name]}
            line = line.model_copy(update=update)
        lines.append(line)
    return after.model_copy(update={"lines": tuple(lines)})


def _dump(value: Any) -> Any:
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump()
    if isinstance(value, list | tuple):
        return [_dump(v) for v in value]
    return value


def _with_promises(order: Order, promises: list[LinePromise]) -> Order:
    by_line = {p.line_id: p for p in promises}
    lines = []
    for line in order.lines:
        promise = by_line.get(line.line_id)
        if promise is None:
            lines.append(line)
            continue
        status = {LinePromiseStatus.RESERVED: LineStatus.RESERVED,
                  LinePromiseStatus.UNLIMITED: LineStatus.RESERVED,
                  LinePromiseStatus.PARTIAL: LineStatus.BACKORDERED,
                  LinePromiseStatus.BACKORDERED: LineStatus.BACKORDERED}[promise.status]
        ship_from = promise.ship_from[0][0] if promise.ship_from else None
        lines.append(line.model_copy(update={"status": status, "promised_date": promise.promised_date,
                                             "ship_from": ship_from}))
    return order.model_copy(update={"lines": tuple(lines)})


def _status(order: Order, requires_approval: bool, holds: list[str]) -> OrderStatus:
    if holds:
        return OrderStatus.ON_HOLD
    if requires_approval:
        return OrderStatus.AWAITING_APPROVAL
    if any(line.status == LineStatus.BACKORDERED for line in order.lines):
        return OrderStatus.BACKORDERED
    return OrderStatus.BOOKED
