"""Tarif's pricing engine: one pure function from an order to a priced order.

``price_order(order, pricing_rulesets, as_of)`` runs a pipeline of small,
replaceable stages (price lists, services, tiers, configured-product roll-up,
rounding, discounts, manual adjustments, document rounding, tax) over rulesets
of the kinds in ``RULESET_KINDS``, and returns every amount exact to the
currency's smallest unit with a waterfall explaining it. See ``docs/pricing.md``.
"""

from pricing_engine.allocation import allocate, allocate_units
from pricing_engine.engine import price_order
from pricing_engine.errors import (
    CurrencyMismatchError,
    InvalidAmountError,
    NoPriceError,
    PricingError,
    PricingEvaluationError,
    PricingRulesetError,
    TierTableError,
    UnknownCurrencyError,
)
from pricing_engine.kinds import RULESET_KINDS, SCENARIO_RUNNERS, scenario_view
from pricing_engine.models import (
    Address,
    AppliedPromotion,
    ChargeLine,
    CouponUsage,
    Customer,
    ManualAdjustment,
    ManualAdjustmentType,
    Order,
    OrderLine,
    PricedComponent,
    PricedLine,
    PricedOrder,
    RecurringTotal,
    ServiceTerms,
    Stage,
    TaxDetail,
    TaxSummary,
    Totals,
    WaterfallStep,
)
from pricing_engine.money import Money
from pricing_engine.pipeline import PricingRules, PricingStage, PricingState
from pricing_engine.recurring import ChargeKind, Period, PeriodUnit, schedule
from pricing_engine.rounding import RoundingMode, RoundingPolicy, RoundingScope, quantize
from pricing_engine.stages import DEFAULT_PIPELINE, STAGES
from pricing_engine.tax import TaxKind, TaxPolicy, TaxRate, settle_document_taxes, tax_line
from pricing_engine.tiers import Tier, TierMode, check_tiers, price_package, price_tiers

__all__ = [
    "DEFAULT_PIPELINE",
    "RULESET_KINDS",
    "SCENARIO_RUNNERS",
    "STAGES",
    "Address",
    "AppliedPromotion",
    "ChargeKind",
    "ChargeLine",
    "CouponUsage",
    "CurrencyMismatchError",
    "Customer",
    "InvalidAmountError",
    "ManualAdjustment",
    "ManualAdjustmentType",
    "Money",
    "NoPriceError",
    "Order",
    "OrderLine",
    "Period",
    "PeriodUnit",
    "PricedComponent",
    "PricedLine",
    "PricedOrder",
    "PricingError",
    "PricingEvaluationError",
    "PricingRules",
    "PricingRulesetError",
    "PricingStage",
    "PricingState",
    "RecurringTotal",
    "RoundingMode",
    "RoundingPolicy",
    "RoundingScope",
    "ServiceTerms",
    "Stage",
    "TaxDetail",
    "TaxKind",
    "TaxPolicy",
    "TaxRate",
    "TaxSummary",
    "Tier",
    "TierMode",
    "TierTableError",
    "Totals",
    "UnknownCurrencyError",
    "WaterfallStep",
    "allocate",
    "allocate_units",
    "check_tiers",
    "price_order",
    "price_package",
    "price_tiers",
    "quantize",
    "scenario_view",
    "schedule",
    "settle_document_taxes",
    "tax_line",
]
