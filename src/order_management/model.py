"""Orders as the order desk and importing systems see them.

An :class:`Order` is an immutable pydantic model: every change produces a new
version (see :mod:`order_management.revisions`). Amounts are Decimals (floats
are refused), dates are dates, and kinds are ``StrEnum``s. Prices are not part
of the order a person types in: they are computed by the pricing engine and
kept beside it in the :class:`OrderRecord`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from . import limits as lim
from .limits import (
    ID_LENGTH,
    MAX_LINES_PER_ORDER,
    MAX_LIST_ITEMS,
    MAX_MAP_ENTRIES,
    NOTE_LENGTH,
    REASON_LENGTH,
    ExternalRef,
    LineId,
    OptionValue,
    PositiveQuantity,
    Sku,
    SourceSystem,
    Text,
)

__all__ = [
    "Address",
    "Channel",
    "Customer",
    "LineInput",
    "LineKind",
    "LineStatus",
    "ManualDiscount",
    "Order",
    "OrderInput",
    "OrderLine",
    "OrderStatus",
    "Party",
    "Quantity",
    "ServiceTerms",
]


#: A quantity the server keeps (shipped, returned units): exact, within the limits of any line.
Quantity = lim.NonNegativeQuantity
_FROZEN = ConfigDict(frozen=True, extra="forbid")


class Channel(StrEnum):
    WEB = "web"
    STORE = "store"
    CALL_CENTRE = "call_centre"
    MARKETPLACE = "marketplace"
    EDI = "edi"


class LineKind(StrEnum):
    SKU = "sku"
    CONFIGURED = "configured"
    SERVICE = "service"


class OrderStatus(StrEnum):
    """Where an order is in its life; part 2 (orchestration) moves it beyond BOOKED."""

    ENTERED = "entered"          # captured, not yet promised
    BOOKED = "booked"            # validated, priced, promised and reserved
    BACKORDERED = "backordered"  # booked, but some lines wait for supply
    ON_HOLD = "on_hold"
    AWAITING_APPROVAL = "awaiting_approval"
    IN_FULFILMENT = "in_fulfilment"
    SHIPPED = "shipped"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class LineStatus(StrEnum):
    OPEN = "open"
    RESERVED = "reserved"
    BACKORDERED = "backordered"
    SHIPPED = "shipped"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


class Address(BaseModel):
    model_config = _FROZEN
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")
    region: Annotated[str, Text(100)] | None = None
    city: Annotated[str, Text(100)] | None = None
    postal_code: Annotated[str, Text(20)] | None = None
    street: Annotated[str, Text(200)] | None = None


class Party(BaseModel):
    """A bill-to or ship-to party: who, and where."""

    model_config = _FROZEN
    id: Annotated[str, Text(ID_LENGTH)] | None = None
    name: Annotated[str, Text(200, min_length=1)]
    address: Address


class Customer(BaseModel):
    """Customer master data that defaulting and validation rules read."""

    model_config = _FROZEN
    id: str = Field(min_length=1)
    name: str = Field(min_length=1)
    segment: str = "standard"
    account: str | None = None
    demand_class: str | None = Field(None, description="allocation class for scarce supply")
    credit_limit: Decimal | None = Field(None, description="in the customer's currency; None: no limit")
    open_balance: Decimal = Decimal(0)
    currency: str = "EUR"
    payment_terms: str | None = None
    bill_to: Party | None = None
    ship_to: Party | None = None
    tax_exemptions: tuple[str, ...] = ()
    blocked: bool = False


class ManualDiscount(BaseModel):
    """A price change entered by a person, passed on to the pricing engine."""

    model_config = _FROZEN
    type: str = Field(pattern=r"^(percent|amount|override)$")
    value: lim.Amount = Field(description="percent: 0–100; amount: off the line or order; override: the unit price")
    reason: Annotated[str, Text(REASON_LENGTH, min_length=1)]
    role: Annotated[str, Text(100, min_length=1)]
    entered_by: Annotated[str, Text(lim.ACTOR_LENGTH)] | None = None

    @field_validator("value")
    @classmethod
    def _percent_is_a_share(cls, value: Decimal, info: ValidationInfo) -> Decimal:
        if info.data.get("type") == "percent" and value > 100:
            raise ValueError("a percentage is between 0 and 100")
        return value


class ServiceTerms(BaseModel):
    model_config = _FROZEN
    start_date: dt.date | None = None
    usage: dict[Annotated[str, Text(80)], lim.NonNegativeQuantity] = Field(
        default_factory=dict, max_length=MAX_MAP_ENTRIES)


class LineInput(BaseModel):
    """A line as a client may state it: what is wanted, never where fulfilment stands.

    Status, promise, ship-from and shipped/returned units are the server's
    (:class:`OrderLine` adds them); a client sending them gets a located error.
    """

    model_config = _FROZEN
    line_id: LineId
    kind: LineKind = LineKind.SKU
    sku: Sku
    quantity: PositiveQuantity
    unit: Annotated[str, Text(20)] | None = None
    product_model: Annotated[str, Text(80)] | None = Field(
        None, description="configured lines: the product_model ruleset")
    options: dict[Annotated[str, Text(80)], OptionValue] = Field(
        default_factory=dict, max_length=MAX_MAP_ENTRIES)
    service: ServiceTerms | None = None
    requested_date: dt.date | None = None
    manual_discounts: tuple[ManualDiscount, ...] = Field((), max_length=MAX_LIST_ITEMS)

    @model_validator(mode="after")
    def _kind_fits(self) -> LineInput:
        if self.kind == LineKind.CONFIGURED and not self.product_model:
            raise ValueError("a configured line needs `product_model`")
        if self.kind != LineKind.CONFIGURED and self.product_model:
            raise ValueError("only configured lines have a `product_model`")
        if self.service is not None and self.kind != LineKind.SERVICE:
            raise ValueError("only service lines have `service` terms")
        return self


class OrderLine(LineInput):
    """One line: a plain SKU, a configured product (with its options), or a service — with its state."""

    status: LineStatus = LineStatus.OPEN
    promised_date: dt.date | None = None
    ship_from: str | None = None
    shipped_quantity: Quantity = Decimal(0)
    returned_quantity: Quantity = Field(Decimal(0), description="units received back from the customer")


class OrderInput(BaseModel):
    """An order as a client may state it (capture, import).

    The order number, version and statuses are the server's: :class:`Order`
    adds them. A caller's own reference goes in ``external_ref`` (unique per
    ``source_system``).
    """

    model_config = _FROZEN
    source_system: SourceSystem | None = Field(
        None, description="the caller's system; with external_ref, the import key")
    external_ref: ExternalRef | None = None
    customer_id: Annotated[str, Text(ID_LENGTH, min_length=1)]
    channel: Channel = Channel.WEB
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    requested_date: dt.date | None = None
    bill_to: Party | None = None
    ship_to: Party | None = None
    payment_terms: Annotated[str, Text(40)] | None = None
    warehouse: Annotated[str, Text(80)] | None = Field(None, description="preferred ship-from location")
    price_list: Annotated[str, Text(80)] | None = None
    coupons: tuple[Annotated[str, Text(40)], ...] = Field((), max_length=MAX_LIST_ITEMS)
    manual_discounts: tuple[ManualDiscount, ...] = Field((), max_length=MAX_LIST_ITEMS)
    lines: tuple[LineInput, ...] = Field(min_length=1, max_length=MAX_LINES_PER_ORDER)
    notes: Annotated[str, Text(NOTE_LENGTH)] | None = None
    attributes: dict[Annotated[str, Text(80)], OptionValue] = Field(
        default_factory=dict, max_length=MAX_MAP_ENTRIES)

    @field_validator("lines")
    @classmethod
    def _unique_line_ids(cls, lines: tuple[LineInput, ...]) -> tuple[LineInput, ...]:
        seen: set[str] = set()
        for line in lines:
            if line.line_id in seen:
                raise ValueError(f"duplicate line_id {line.line_id!r}")
            seen.add(line.line_id)
        return lines

    @model_validator(mode="after")
    def _import_key_is_whole(self) -> OrderInput:
        if (self.source_system is None) != (self.external_ref is None):
            raise ValueError("source_system and external_ref go together")
        return self


class Order(OrderInput):
    """A sales order; immutable — revisions produce new versions."""

    order_id: Annotated[str, Text(ID_LENGTH, min_length=1)]
    version: int = Field(1, ge=1)
    status: OrderStatus = OrderStatus.ENTERED
    lines: tuple[OrderLine, ...] = Field(min_length=1)

    def line(self, line_id: str) -> OrderLine:
        for line in self.lines:
            if line.line_id == line_id:
                return line
        raise KeyError(line_id)
