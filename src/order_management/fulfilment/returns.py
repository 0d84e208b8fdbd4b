"""Returns and exchanges: authorisations with reasons, what came back, and what it is worth.

A return authorisation (RMA) lists lines with a quantity, a reason and a
resolution: a refund, a replacement of the same item, or an exchange for
another. When the parcel arrives, each line records how many units came back
and how many of those are damaged. Only good units go back to stock. Damaged
units are refunded (or replaced) when the damage is the seller's fault — a
defective item, transit damage, a wrong or misdescribed item — and not when
the customer returned a unit they had damaged.

Refunds are exact: a line's gross amount is spread over its units with
:func:`pricing_engine.allocate` (largest remainder, first units take the odd
cents), and a return takes the next unreturned units' shares — so returning
every unit, in any number of parcels, refunds the line's gross to the cent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from pricing_engine import Money, allocate

from ..ports import OrderRecord
from .errors import ReturnError

__all__ = [
    "Resolution",
    "ReturnAuthorisation",
    "ReturnLine",
    "ReturnReason",
    "ReturnStatus",
    "line_gross",
    "unit_refunds",
]


class ReturnReason(StrEnum):
    DEFECTIVE = "defective"
    DAMAGED_IN_TRANSIT = "damaged_in_transit"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    NO_LONGER_NEEDED = "no_longer_needed"
    OTHER = "other"

    @property
    def sellers_fault(self) -> bool:
        return self in (ReturnReason.DEFECTIVE, ReturnReason.DAMAGED_IN_TRANSIT, ReturnReason.WRONG_ITEM,
                        ReturnReason.NOT_AS_DESCRIBED)


class Resolution(StrEnum):
    REFUND = "refund"
    REPLACEMENT = "replacement"  # the same item again
    EXCHANGE = "exchange"        # another item (``exchange_sku``), the price difference settled


class ReturnStatus(StrEnum):
    AUTHORISED = "authorised"
    RECEIVED = "received"


@dataclass(frozen=True)
class ReturnLine:
    line_id: str
    sku: str
    quantity: Decimal
    reason: ReturnReason
    resolution: Resolution = Resolution.REFUND
    exchange_sku: str | None = None
    received: Decimal = Decimal(0)
    damaged: Decimal = Decimal(0)
    refund: Decimal = Decimal(0)
    restocked: Decimal = Decimal(0)

    @property
    def credited_units(self) -> Decimal:
        """Units the customer gets money (or goods) back for."""
        return self.received if self.reason.sellers_fault else self.received - self.damaged


@dataclass(frozen=True)
class ReturnAuthorisation:
    rma_id: str
    order_id: str
    lines: tuple[ReturnLine, ...]
    authorised_by: str
    authorised_at: dt.datetime
    status: ReturnStatus = ReturnStatus.AUTHORISED
    received_at: dt.datetime | None = None

    @property
    def refund_total(self) -> Decimal:
        return sum((line.refund for line in self.lines), Decimal(0))

    def line(self, line_id: str) -> ReturnLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise ReturnError(f"return {self.rma_id} has no line {line_id}")

    def received(self, counts: dict[str, tuple[Decimal, Decimal]], at: dt.datetime) -> ReturnAuthorisation:
        """Record (received, damaged) per line; refunds are set by the caller from :func:`unit_refunds`."""
        if self.status != ReturnStatus.AUTHORISED:
            raise ReturnError(f"return {self.rma_id} was already received")
        lines = []
        for line in self.lines:
            got, damaged = counts.get(line.line_id, (Decimal(0), Decimal(0)))
            if got < 0 or damaged < 0 or damaged > got:
                raise ReturnError(f"line {line.line_id}: damaged ({damaged}) must be between 0 and received ({got})")
            if got > line.quantity:
                raise ReturnError(f"line {line.line_id}: {got} received but {line.quantity} authorised")
            lines.append(replace(line, received=got, damaged=damaged, restocked=got - damaged))
        unknown = sorted(set(counts) - {line.line_id for line in self.lines})
        if unknown:
            raise ReturnError(f"return {self.rma_id} has no line(s) {', '.join(unknown)}")
        return replace(self, lines=tuple(lines), status=ReturnStatus.RECEIVED, received_at=at)


def unit_refunds(line_gross: Decimal, currency: str, quantity: Decimal, already: Decimal,
                 units: Decimal) -> Decimal:
    """The refund for ``units`` more units of a line of ``quantity`` units costing ``line_gross``.

    The line's gross is allocated over its units exactly; the refund is the sum
    of the shares of units ``already`` … ``already + units - 1``. Quantities must
    be whole units.

    >>> unit_refunds(Decimal("100.00"), "EUR", Decimal(3), Decimal(0), Decimal(1))
    Decimal('33.34')
    >>> unit_refunds(Decimal("100.00"), "EUR", Decimal(3), Decimal(1), Decimal(2))
    Decimal('66.66')
    """
    for name, value in (("quantity", quantity), ("already returned", already), ("returned", units)):
        if value != value.to_integral_value():
            raise ReturnError(f"{name} {value} is not a whole number of units; return whole units")
    if already + units > quantity:
        raise ReturnError(f"{already + units} units returned of a line of {quantity}")
    if units == 0:
        return Decimal(0)
    shares = allocate(Money(line_gross, currency), [1] * int(quantity))
    return sum((s.amount for s in shares[int(already):int(already + units)]), Decimal(0))


def line_gross(record: OrderRecord) -> dict[str, Decimal]:
    """Each line's gross (net and its tax), from the pricing result's lines; net when they are not there."""
    priced = record.pricing.priced if record.pricing else None
    lines = getattr(priced, "lines", None)
    if lines:
        return {line.line_id: line.gross for line in lines}
    if record.pricing is None:
        raise ReturnError(f"order {record.order_id} was never priced; nothing to refund from")
    return dict(record.pricing.line_net)
