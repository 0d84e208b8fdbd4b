"""Stock levels for reorder points and returns, read from (and written to) a promising reservation store.

:class:`SupplyStockLevels` implements :class:`~order_management.fulfilment.StockLevels`
on any :class:`order_management.promising.ReservationStore`:

- ``available`` is the inventory position min/max planning works on: on hand
  plus scheduled receipts, less safety stock and every unit committed to an
  order. Counting receipts is what keeps a second replenishment from being
  asked for while the first is on its way.
- ``restock`` puts returned good units back on hand, with the store's
  optimistic versions (retried if another writer moved the position first).

>>> from order_management import promising as pr
>>> store = pr.InMemoryReservationStore([pr.SupplyPosition(item="LOCK-U", location="WH-LYON", on_hand=8,
...     safety_stock=2, receipts=[pr.Receipt(id="PO-1", quantity=5, expected_on="2025-08-01")])])
>>> levels = SupplyStockLevels(store)
>>> levels.available("LOCK-U", "WH-LYON")
Decimal('11')
>>> levels.restock("LOCK-U", "WH-LYON", Decimal(1))
>>> levels.available("LOCK-U", "WH-LYON")
Decimal('12')
"""

from __future__ import annotations

from decimal import Decimal

from .. import promising as pr
from .errors import FulfilmentError

__all__ = ["SupplyStockLevels", "available_in"]


def available_in(snapshot: pr.AvailabilitySnapshot, key: pr.SupplyKey) -> Decimal:
    """The inventory position of ``key`` in ``snapshot``: supply less safety stock and commitments."""
    position = snapshot.position(key)
    if position is None:
        return Decimal(0)
    committed = sum(c.quantity for c in snapshot.commitments.get(key, ()))
    return Decimal(position.total_supply - position.safety_stock - committed)


class SupplyStockLevels:
    def __init__(self, store: pr.ReservationStore, attempts: int = 5) -> None:
        self.store = store
        self.attempts = attempts

    def available(self, sku: str, location: str) -> Decimal:
        return available_in(self.store.snapshot([sku]), (sku, location))

    def restock(self, sku: str, location: str, quantity: Decimal) -> None:
        if quantity != quantity.to_integral_value() or quantity < 0:
            raise FulfilmentError(f"restock whole units: {quantity} of {sku}")
        for _ in range(self.attempts):
            snapshot = self.store.snapshot([sku])
            position = snapshot.position((sku, location))
            if position is None:
                position = pr.SupplyPosition(item=sku, location=location, on_hand=0)
            updated = position.model_copy(update={"on_hand": position.on_hand + int(quantity)})
            try:
                self.store.put_supply(updated, expected_version=snapshot.version((sku, location)))
                return
            except pr.VersionConflictError:
                continue
        raise FulfilmentError(f"{sku}@{location} kept moving; {quantity} unit(s) were not restocked")
