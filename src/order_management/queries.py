"""Questions about a draft that change nothing: what capture would say, promise and charge.

They share capture's :func:`~order_management.handlers.prepare`, so the
answers are exactly what capturing the draft would give — without a number,
a reservation or a stored order.
"""

from __future__ import annotations

from dataclasses import dataclass

from .context import Totals
from .errors import FieldProblem, OrderValidationError, Severity
from .handlers import Dependencies, prepare
from .handlers.capture import configure_lines, customer_of, new_order
from .model import OrderInput
from .ports import LinePromise, PricingOutcome
from .unit_of_work import UnitOfWork

__all__ = ["Quote", "check_availability", "check_order", "quote"]

_DRAFT_ID = "DRAFT"


@dataclass(frozen=True)
class Quote:
    """A priced draft: what capture would charge and what it would complain about."""

    pricing: PricingOutcome
    problems: tuple[FieldProblem, ...]
    defaults_applied: tuple[str, ...]


def check_order(draft: OrderInput, deps: Dependencies, uow: UnitOfWork) -> list[FieldProblem]:
    """Every error capture would report for ``draft`` (none for an import already captured)."""
    # read before any unit begins: nothing is locked
    if draft.source_system and draft.external_ref and uow.orders.find_by_external_ref(
            draft.source_system, draft.external_ref) is not None:
        return []
    try:
        prepare(new_order(draft, _DRAFT_ID), deps, deps.today(deps.clock.now()))
    except OrderValidationError as exc:
        return [p for p in exc.problems if p.severity == Severity.ERROR]
    return []


def check_availability(draft: OrderInput, deps: Dependencies, uow: UnitOfWork) -> list[LinePromise]:
    """What could be promised for ``draft`` now; reserves nothing."""
    from .availability import SupplyPromiser

    order = new_order(draft, _DRAFT_ID)
    customer = customer_of(deps, order)
    as_of = deps.today(deps.clock.now())
    order, _ = deps.rules.apply_defaults(order, customer, as_of)
    problems: list[FieldProblem] = []
    order, lead_times = configure_lines(order, deps, problems)
    if problems:
        raise OrderValidationError(problems)
    # a what-if reads committed supply before any unit of work begins: it locks and writes nothing
    return SupplyPromiser(uow.reservations, deps.sourcing).check(order, customer, as_of, lead_times)


def quote(draft: OrderInput, deps: Dependencies) -> Quote:
    """Price ``draft`` as capture would (defaults applied); validation problems are listed, not raised.

    Raises :class:`OrderValidationError` (every problem) only when it cannot be priced at all.
    """
    order = new_order(draft, "QUOTE")
    as_of = deps.today(deps.clock.now())
    try:
        prepared = prepare(order, deps, as_of)
        return Quote(prepared.pricing, prepared.warnings, prepared.defaults_applied)
    except OrderValidationError as exc:
        customer = customer_of(deps, order)
        defaulted, applied = deps.rules.apply_defaults(order, customer, as_of)
        try:
            pricing = deps.pricer.price(defaulted, customer, as_of)
        except OrderValidationError:
            raise exc from None
        totals = Totals(pricing.subtotal, pricing.tax, pricing.total, pricing.line_net)
        problems = list(exc.problems) or list(deps.rules.validate(defaulted, customer, as_of, totals).problems)
        return Quote(pricing, tuple(problems), tuple(applied))
