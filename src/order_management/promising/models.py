"""The plain, validated inputs of promising: supply, item policies and demand.

Everything here is a frozen pydantic model, validated once where data enters
(from the caller, a store, or a ruleset file) and then passed on as is. The
promising core never reads a clock: every date is given, and ``as_of`` is an
argument of each computation.

Quantities are whole units of the item's stock-keeping unit (an item sold by
the kilogram counts kilograms). Nothing here refers to the order model of
``order_management``: the capture service translates its order lines into
:class:`DemandLine` objects (for a configured product it also computes the
effective lead time from the chosen options and passes it as
``DemandLine.lead_time_days``).
"""

from __future__ import annotations

import datetime as dt
import enum

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "DEFAULT_DEMAND_CLASS",
    "DemandLine",
    "DemandRequest",
    "ItemPolicy",
    "LeadTimeKind",
    "PromisingMode",
    "Receipt",
    "ReceiptKind",
    "ShipTo",
    "SupplyPosition",
]

#: The demand class of a request that names none and matches no demand-class rule.
DEFAULT_DEMAND_CLASS = "standard"

_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:/\-]*$"
#: Units of one item at one location, stock and receipts together: the host keeps their total in an INTEGER.
MAX_UNITS = 1_000_000_000


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PromisingMode(enum.StrEnum):
    """How an item is promised.

    - ``atp``: available-to-promise: on hand plus scheduled receipts, only
      inside the item's ATP time fence; beyond supply the line is backordered.
    - ``ctp``: capable-to-promise (lead-time based): ATP first, and whatever
      supply cannot cover is promised at ``as_of`` + the lead time (made or
      bought to order).
    - ``infinite``: no supply check (services, digital goods): promised on the
      requested date, nothing is reserved.
    """

    ATP = "atp"
    CTP = "ctp"
    INFINITE = "infinite"


class ReceiptKind(enum.StrEnum):
    PURCHASE_ORDER = "purchase_order"
    TRANSFER = "transfer"
    PRODUCTION = "production"


class LeadTimeKind(enum.StrEnum):
    """Where a location's replenishment comes from: made there, bought, or transferred in."""

    MAKE = "make"
    BUY = "buy"
    TRANSFER = "transfer"


class Receipt(_Frozen):
    """Scheduled supply: a purchase order, an inbound transfer or a production order.

    A receipt whose ``expected_on`` is already past (overdue) is counted as
    arriving on ``as_of``: it is still expected, only late.
    """

    id: str = Field(pattern=_ID, max_length=80)
    quantity: int = Field(ge=1, le=MAX_UNITS)
    expected_on: dt.date
    kind: ReceiptKind = ReceiptKind.PURCHASE_ORDER


class SupplyPosition(_Frozen):
    """The supply of one item at one location.

    ``on_hand`` is physical stock; ``safety_stock`` is held back from every
    promise: it comes off the top (from stock, then from the earliest
    receipts) before any demand class's share is taken. Units
    already reserved are not part of this record: the store keeps them as
    commitments and every snapshot brings both together.
    ``lead_time_days`` is the replenishment lead time (``lead_time_kind``:
    make, buy or transfer) used to promise beyond supply for CTP items.
    """

    item: str = Field(pattern=_ID, max_length=80)
    location: str = Field(pattern=_ID, max_length=80)
    on_hand: int = Field(ge=0, le=MAX_UNITS)
    safety_stock: int = Field(default=0, ge=0, le=MAX_UNITS)
    receipts: tuple[Receipt, ...] = Field((), max_length=1000)
    lead_time_days: int | None = Field(default=None, ge=0, le=3650)
    lead_time_kind: LeadTimeKind = LeadTimeKind.BUY

    @model_validator(mode="after")
    def _receipt_ids_are_unique(self) -> SupplyPosition:
        ids = [r.id for r in self.receipts]
        if len(set(ids)) != len(ids):
            raise ValueError(f"receipt ids must be unique at {self.item}@{self.location}")
        if self.total_supply > MAX_UNITS:
            raise ValueError(f"on hand and receipts come to {self.total_supply:,} units, more than {MAX_UNITS:,}")
        return self

    @property
    def key(self) -> tuple[str, str]:
        return (self.item, self.location)

    @property
    def total_supply(self) -> int:
        """On hand plus every scheduled receipt (before safety stock)."""
        return self.on_hand + sum(r.quantity for r in self.receipts)


class ItemPolicy(_Frozen):
    """How one item is promised (see :class:`PromisingMode`).

    ``atp_time_fence_days``: an ATP promise relies only on supply that can be
    used within this many days of ``as_of``; receipts later than the fence are
    too uncertain to promise against (None: no fence).
    """

    item: str = Field(pattern=_ID, max_length=80)
    mode: PromisingMode = PromisingMode.ATP
    atp_time_fence_days: int | None = Field(default=None, ge=0, le=3650)


class ShipTo(_Frozen):
    """Where the goods go; sourcing rules and lanes read the country (ISO 3166 alpha-2)."""

    country: str = Field(pattern=r"^[A-Z]{2}$")
    region: str | None = None
    postal_code: str | None = None


class DemandLine(_Frozen):
    """One line to promise.

    ``requested_on`` is the requested *delivery* date (None: as soon as
    possible). ``lead_time_days``, when given, replaces the location's lead
    time for this line: a configured product's options change how long it
    takes to make (the caller computes it, e.g. base 10 days + 5 for a custom
    paint). ``make_to_order`` lines never use stock or receipts: they are
    promised at ``as_of`` + lead time whatever the item's mode.
    """

    line_id: str = Field(pattern=_ID, max_length=80)
    item: str = Field(pattern=_ID, max_length=80)
    quantity: int = Field(ge=1, le=10_000_000)
    requested_on: dt.date | None = None
    lead_time_days: int | None = Field(default=None, ge=0, le=3650)
    make_to_order: bool = False


class DemandRequest(_Frozen):
    """What to promise: the lines of one order and the facts sourcing rules read.

    ``demand_class`` picks the allocation the request may draw on (e.g.
    ``key-accounts``); when None, the rules' demand-class conditions classify
    the request (first match), else it is :data:`DEFAULT_DEMAND_CLASS`.
    ``ship_complete`` (when set) overrides the sourcing rule's split policy:
    True ships the whole order at once from one location.
    """

    reference: str = Field(pattern=_ID, max_length=120)
    lines: tuple[DemandLine, ...] = Field(min_length=1, max_length=2000)
    ship_to: ShipTo
    customer: str | None = None
    customer_segment: str | None = None
    channel: str | None = None
    demand_class: str | None = None
    ship_complete: bool | None = None

    @model_validator(mode="after")
    def _line_ids_are_unique(self) -> DemandRequest:
        seen: set[str] = set()
        for line in self.lines:
            if line.line_id in seen:
                raise ValueError(f"line id {line.line_id!r} is used twice")
            seen.add(line.line_id)
        return self

    @property
    def items(self) -> tuple[str, ...]:
        """The distinct items of the request, in line order."""
        return tuple(dict.fromkeys(line.item for line in self.lines))
