"""The small interfaces the order layer needs from the world around it.

Storage, the clock and the two cores are reached only through these
Protocols (and the :class:`~order_management.unit_of_work.UnitOfWork`), so the
layer runs unchanged in memory (tests, benchmarks, embedding apps) and on the
host app's SQL storage.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from .model import Customer, Order, OrderLine, OrderStatus
from .revisions import Revision

__all__ = [
    "Clock",
    "CustomerDirectory",
    "LinePromise",
    "LinePromiseStatus",
    "OrderRecord",
    "OrderRepository",
    "Pricer",
    "PricingOutcome",
    "ProductChecker",
    "Promiser",
]


@dataclass(frozen=True)
class PricingOutcome:
    """What the order layer keeps of a priced order."""

    subtotal: Decimal
    tax: Decimal
    total: Decimal
    line_net: dict[str, Decimal]
    requires_approval: bool = False
    approval_reasons: tuple[str, ...] = ()
    priced: Any = None  # the pricing engine's full result (waterfalls), JSON-serialisable


@dataclass(frozen=True)
class OrderRecord:
    """An order as stored: its current version, its history, and what was computed for it."""

    order: Order
    revisions: tuple[Revision, ...]
    pricing: PricingOutcome | None = None
    promises: tuple[LinePromise, ...] = ()
    hold_reasons: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())

    @property
    def order_id(self) -> str:
        return self.order.order_id

    @property
    def version(self) -> int:
        return self.order.version


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current time, timezone-aware."""
        ...


class CustomerDirectory(Protocol):
    def get(self, customer_id: str) -> Customer:
        """The customer; raises :class:`LookupError` when unknown."""
        ...


class OrderRepository(Protocol):
    def get(self, order_id: str) -> OrderRecord:
        """Raises :class:`OrderNotFoundError`."""
        ...

    def find_by_external_ref(self, source_system: str, external_ref: str) -> OrderRecord | None: ...

    def add(self, record: OrderRecord) -> None:
        """Store a new order; raises :class:`DuplicateOrderError` when its id or import key exists."""
        ...

    def update(self, record: OrderRecord, expected_version: int) -> None:
        """Replace the order if its stored version is still ``expected_version``."""
        ...

    def search(self, *, status: OrderStatus | None = None, customer_id: str | None = None,
               channel: str | None = None, limit: int = 100) -> Sequence[OrderRecord]: ...

    def next_order_id(self) -> str: ...


class LinePromiseStatus(StrEnum):
    RESERVED = "reserved"        # supply is reserved; ships from ``ship_from`` on ``promised_date``
    PARTIAL = "partial"          # part is reserved (``ship_from``), the rest waits for supply
    BACKORDERED = "backordered"  # not enough supply now; ``promised_date`` is the expected date, if any
    UNLIMITED = "unlimited"      # services and infinite-supply items: nothing to reserve


@dataclass(frozen=True)
class LinePromise:
    """The promise for one order line: when, from where, and why."""

    line_id: str
    status: LinePromiseStatus
    promised_date: dt.date | None
    ship_from: tuple[tuple[str, Decimal], ...] = ()  # (location, quantity) — several when split
    reason: str = ""


class Pricer(Protocol):
    def price(self, order: Order, customer: Customer, as_of: dt.date) -> PricingOutcome:
        """Price the order; raises :class:`OrderValidationError` with field paths when it cannot."""
        ...


class ProductChecker(Protocol):
    def configure(self, line: OrderLine) -> Any:
        """A configured line's complete options and build time (``ConfiguredLine``).

        Raises :class:`OrderValidationError` with paths relative to the line
        (``options.gpu``) when the options are not a valid product.
        """
        ...


class Promiser(Protocol):
    def check(self, order: Order, customer: Customer, as_of: dt.date,
              lead_times: Mapping[str, int] | None = None) -> list[LinePromise]:
        """What could be promised now, without committing anything (what-if).

        ``lead_times`` gives a build time per line id (configured products),
        replacing the item's usual lead time.
        """
        ...

    def reserve(self, order: Order, customer: Customer, as_of: dt.date,
                lead_times: Mapping[str, int] | None = None) -> list[LinePromise]:
        """Promise and reserve atomically; never oversells."""
        ...

    def repromise(self, order: Order, customer: Customer, as_of: dt.date,
                  lead_times: Mapping[str, int] | None = None) -> list[LinePromise]:
        """Promise a revised order again, swapping its reservation atomically.

        The order keeps its units while it is re-planned: nobody can take
        them between the old reservation and the new one.
        """
        ...

    def release(self, order_id: str) -> None:
        """Give back everything reserved for the order."""
        ...
