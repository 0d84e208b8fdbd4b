"""The pricing engine's input and output: pydantic models, JSON-serialisable.

Data is validated once, here, where it enters; the pipeline then works on the
validated objects. Decimal fields refuse Python floats with ``TypeError`` (a JSON
reader should parse numbers as Decimal: ``json.loads(text, parse_float=Decimal)``);
numeric strings and ints are accepted. In JSON output every Decimal is a string,
so no amount ever passes through a binary float.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from pricing_engine.money import to_decimal
from pricing_engine.recurring import ChargeKind
from pricing_engine.rounding import known_currencies

__all__ = [
    "Address",
    "AppliedPromotion",
    "ChargeLine",
    "CouponUsage",
    "Customer",
    "Dec",
    "ManualAdjustment",
    "ManualAdjustmentType",
    "Order",
    "OrderLine",
    "PricedComponent",
    "PricedLine",
    "PricedOrder",
    "RecurringTotal",
    "ServiceTerms",
    "Stage",
    "TaxDetail",
    "TaxSummary",
    "Totals",
    "WaterfallStep",
]


def _no_float(value: object) -> object:
    if isinstance(value, float):
        raise TypeError(
            f"a float ({value!r}) cannot be an exact amount or quantity; "
            "pass a Decimal or a numeric string"
        )
    if isinstance(value, str | int) and not isinstance(value, bool):
        return to_decimal(value)
    return value


#: A Decimal that refuses floats (``TypeError``) and accepts ints and numeric strings.
Dec = Annotated[Decimal, BeforeValidator(_no_float)]
OptionValue = str | bool | int | Dec

_FROZEN = ConfigDict(frozen=True, extra="forbid")


class _In(BaseModel):
    model_config = _FROZEN


class Address(_In):
    country: str = Field(min_length=2, max_length=2, description="ISO 3166-1 alpha-2")
    region: str | None = Field(None, description="state/province code, e.g. 'CA'")
    postal_code: str | None = None


class Customer(_In):
    id: str | None = None
    account: str | None = None
    segment: str | None = None
    tax_exemptions: tuple[str, ...] = Field(
        (), description="exemption codes (e.g. 'resale'), tax ids/groups, or '*' for all"
    )
    attributes: dict[str, OptionValue] = Field(
        default_factory=dict, description="read by rules as customer.attributes.*"
    )


class CouponUsage(_In):
    """How often a coupon was already redeemed (an input: the engine keeps no state)."""

    total: int = Field(0, ge=0)
    by_customer: int = Field(0, ge=0)


class ManualAdjustmentType(StrEnum):
    PERCENT = "percent"  # discount of value % of the current amount
    AMOUNT = "amount"  # discount of value (a line amount in the order currency)
    OVERRIDE = "override"  # the unit price becomes value


class ManualAdjustment(_In):
    type: ManualAdjustmentType
    value: Dec
    reason: str = Field(min_length=1)
    role: str = Field(min_length=1)
    entered_by: str | None = None


class ServiceTerms(_In):
    start_date: dt.date | None = Field(None, description="defaults to the pricing date")
    usage: dict[str, Dec] = Field(
        default_factory=dict, description="estimated usage per usage-charge id, per period"
    )


class OrderLine(_In):
    id: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    quantity: Dec = Decimal(1)
    unit: str | None = Field(None, description="unit of the quantity, e.g. 'kg'")
    options: dict[str, OptionValue] = Field(default_factory=dict)
    components: tuple[str, ...] = Field((), description="optional bundle components chosen")
    category: str | None = Field(None, description="overrides the catalog category")
    tax_class: str | None = Field(None, description="overrides the catalog tax class")
    service: ServiceTerms | None = None
    manual_adjustments: tuple[ManualAdjustment, ...] = ()

    @field_validator("quantity")
    @classmethod
    def _positive(cls, v: Decimal) -> Decimal:
        if v <= 0:
            raise ValueError("quantity must be positive")
        return v


class Order(_In):
    id: str = Field(min_length=1)
    currency: str
    customer: Customer = Customer()
    channel: str | None = None
    ship_to: Address | None = None
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    coupons: tuple[str, ...] = ()
    coupon_usage: dict[str, CouponUsage] = Field(default_factory=dict)
    exchange_rates: dict[str, Dec] = Field(
        default_factory=dict,
        description="units of the order currency per unit of the key currency",
    )
    manual_adjustments: tuple[ManualAdjustment, ...] = Field(
        (), description="order-level manual discounts (percent or amount)"
    )

    @field_validator("currency")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in known_currencies():
            raise ValueError(f"unknown currency {v!r}; use an ISO 4217 code")
        return v

    @field_validator("lines")
    @classmethod
    def _unique_ids(cls, v: tuple[OrderLine, ...]) -> tuple[OrderLine, ...]:
        seen: set[str] = set()
        for line in v:
            if line.id in seen:
                raise ValueError(f"duplicate line id {line.id!r}")
            seen.add(line.id)
        return v


# --- output ------------------------------------------------------------------------------


class Stage(StrEnum):
    """The pipeline stage that produced a waterfall step."""

    PRICE_LIST = "price_list"
    SERVICE = "service_charges"
    ROLL_UP = "roll_up"
    QUANTITY = "quantity"
    ROUNDING = "rounding"
    DISCOUNT = "discount"
    ORDER_DISCOUNT = "order_discount"
    MANUAL = "manual_adjustment"
    DOCUMENT_ROUNDING = "document_rounding"
    TAX = "tax"


_OUT = ConfigDict(frozen=True)


class WaterfallStep(BaseModel):
    """One step of a line's price: ``before`` → ``after`` by ``rounded`` (exact: ``raw``)."""

    model_config = _OUT
    stage: Stage
    rule: str
    ruleset: str
    description: str
    before: Decimal
    after: Decimal
    raw: Decimal
    rounded: Decimal


class TaxDetail(BaseModel):
    model_config = _OUT
    tax_id: str
    name: str
    ruleset: str
    base: Decimal
    rate: Decimal | None = None
    amount_per_unit: Decimal | None = None
    amount: Decimal
    group: str | None = None


class ChargeLine(BaseModel):
    """One charge of a service line; amounts are net, in the order currency."""

    model_config = _OUT
    id: str
    kind: ChargeKind
    description: str
    period: str | None = None
    unit_price: Decimal
    quantity: Decimal
    amount: Decimal  # per period (recurring), once (one-time), estimated (usage)
    first_period_amount: Decimal | None = None
    due_today: Decimal
    prorated_days: int | None = None
    period_days: int | None = None
    trial_end: dt.date | None = None
    paid_start: dt.date | None = None
    next_billing: dt.date | None = None
    term_end: dt.date | None = None
    term_total: Decimal | None = None


class PricedComponent(BaseModel):
    model_config = _OUT
    sku: str
    quantity: Decimal
    included: bool
    unit_price: Decimal
    amount: Decimal


class PricedLine(BaseModel):
    model_config = _OUT
    line_id: str
    sku: str
    quantity: Decimal
    unit: str | None
    category: str | None
    price_list: str | None
    entry: str | None
    list_unit_price: Decimal | None
    list_amount: Decimal
    discount_total: Decimal
    net: Decimal
    tax_total: Decimal
    gross: Decimal
    prices_include_tax: bool
    taxes: tuple[TaxDetail, ...] = ()
    waterfall: tuple[WaterfallStep, ...] = ()
    components: tuple[PricedComponent, ...] = ()
    charges: tuple[ChargeLine, ...] = ()
    requires_approval: bool = False
    approval_reasons: tuple[str, ...] = ()


class TaxSummary(BaseModel):
    model_config = _OUT
    tax_id: str
    name: str
    rate: Decimal | None
    base: Decimal
    amount: Decimal
    group: str | None = None


class AppliedPromotion(BaseModel):
    model_config = _OUT
    rule: str
    ruleset: str
    description: str
    level: Literal["line", "order"]
    coupon: str | None
    amount: Decimal
    lines: tuple[str, ...]


class RecurringTotal(BaseModel):
    model_config = _OUT
    period: str
    net: Decimal
    tax: Decimal
    gross: Decimal


class Totals(BaseModel):
    """Order totals by kind. ``gross`` is what the order costs now (``due_today``)."""

    model_config = _OUT
    list_amount: Decimal
    discounts: Decimal
    net: Decimal
    tax: Decimal
    gross: Decimal
    one_time: Decimal
    due_today: Decimal
    recurring: tuple[RecurringTotal, ...] = ()
    usage_estimate: Decimal = Decimal(0)


class PricedOrder(BaseModel):
    model_config = _OUT
    order_id: str
    currency: str
    as_of: dt.date
    lines: tuple[PricedLine, ...]
    taxes: tuple[TaxSummary, ...]
    promotions: tuple[AppliedPromotion, ...]
    totals: Totals
    requires_approval: bool
    approval_reasons: tuple[str, ...]
    warnings: tuple[str, ...]
    rulesets: tuple[str, ...]
