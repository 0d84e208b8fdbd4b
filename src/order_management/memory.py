"""In-memory clock and customer directory: for tests, benchmarks and embedding apps.

The in-memory unit of work and its store are in :mod:`order_management.unit_of_work`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .model import Customer

__all__ = ["FixedClock", "InMemoryCustomers"]


class FixedClock:
    """A clock that says what it is told; advance it explicitly."""

    def __init__(self, now: dt.datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware datetime")
        self._now = now

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, **delta: float) -> None:
        self._now += dt.timedelta(**delta)


class InMemoryCustomers:
    def __init__(self, customers: Iterable[Customer] = ()) -> None:
        self._customers = {c.id: c for c in customers}

    def get(self, customer_id: str) -> Customer:
        try:
            return self._customers[customer_id]
        except KeyError:
            raise LookupError(f"unknown customer {customer_id!r}") from None

    def put(self, customer: Customer) -> None:
        self._customers[customer.id] = customer
