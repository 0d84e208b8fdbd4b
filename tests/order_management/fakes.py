"""A small stand-in promiser for capture tests: stock per SKU, reserve or backorder.

The real promising (ATP, sourcing, demand classes) has its own tests; capture
tests only need something that reserves, backorders and releases, and records
what it did.
"""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

from order_management import Customer, LinePromise, LinePromiseStatus, Order


class StockPromiser:
    def __init__(self, stock: dict[str, int], location: str = "WH-LYON", lead_days: int = 14) -> None:
        self.stock = {sku: Decimal(q) for sku, q in stock.items()}
        self.location = location
        self.lead_days = lead_days
        self.reserved: dict[str, list[tuple[str, Decimal]]] = {}
        self.lock = threading.RLock()

    def _promise(self, order: Order, as_of: dt.date, commit: bool) -> list[LinePromise]:
        with self.lock:
            available = dict(self.stock)
            promises = []
            taken: list[tuple[str, Decimal]] = []
            for line in order.lines:
                on_hand = available.get(line.sku)
                if on_hand is None:
                    promises.append(LinePromise(line.line_id, LinePromiseStatus.UNLIMITED, as_of, (),
                                                "not a stocked item"))
                elif on_hand >= line.quantity:
                    available[line.sku] = on_hand - line.quantity
                    taken.append((line.sku, line.quantity))
                    promises.append(LinePromise(line.line_id, LinePromiseStatus.RESERVED, as_of + dt.timedelta(2),
                                                ((self.location, line.quantity),), "on hand"))
                else:
                    promises.append(LinePromise(line.line_id, LinePromiseStatus.BACKORDERED,
                                                as_of + dt.timedelta(self.lead_days), (), "short of stock"))
            if commit:
                self.stock = available
                self.reserved.setdefault(order.order_id, []).extend(taken)
            return promises

    def check(self, order: Order, customer: Customer, as_of: dt.date, lead_times=None) -> list[LinePromise]:
        return self._promise(order, as_of, commit=False)

    def reserve(self, order: Order, customer: Customer, as_of: dt.date, lead_times=None) -> list[LinePromise]:
        return self._promise(order, as_of, commit=True)

    def repromise(self, order: Order, customer: Customer, as_of: dt.date, lead_times=None) -> list[LinePromise]:
        with self.lock:  # release and reserve again under one hold of the lock
            self.release(order.order_id)
            return self._promise(order, as_of, commit=True)

    def release(self, order_id: str) -> None:
        with self.lock:
            for sku, quantity in self.reserved.pop(order_id, []):
                self.stock[sku] += quantity
