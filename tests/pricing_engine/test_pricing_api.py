"""The package's public API is exactly what ``__all__`` says."""

import pricing_engine
from pricing_engine import RULESET_KINDS, SCENARIO_RUNNERS, STAGES

EXPECTED = {
    "DEFAULT_PIPELINE", "RULESET_KINDS", "SCENARIO_RUNNERS", "STAGES",
    "Address", "AppliedPromotion", "ChargeKind", "ChargeLine", "CouponUsage", "CurrencyMismatchError",
    "Customer", "InvalidAmountError", "ManualAdjustment", "ManualAdjustmentType", "Money", "NoPriceError",
    "Order", "OrderLine", "Period", "PeriodUnit", "PricedComponent", "PricedLine", "PricedOrder",
    "PricingError", "PricingEvaluationError", "PricingRules", "PricingRulesetError", "PricingStage",
    "PricingState", "RecurringTotal", "RoundingMode", "RoundingPolicy", "RoundingScope", "ServiceTerms",
    "Stage", "TaxDetail", "TaxKind", "TaxPolicy", "TaxRate", "TaxSummary", "Tier", "TierMode",
    "TierTableError", "Totals", "UnknownCurrencyError", "WaterfallStep",
    "allocate", "allocate_units", "check_tiers", "price_order", "price_package", "price_tiers",
    "quantize", "scenario_view", "schedule", "settle_document_taxes", "tax_line",
}


def test_all_lists_exactly_the_public_names():
    assert set(pricing_engine.__all__) == EXPECTED
    assert len(pricing_engine.__all__) == len(EXPECTED)
    assert all(hasattr(pricing_engine, name) for name in EXPECTED)


def test_the_contributed_ruleset_kinds_and_runner_have_stable_names():
    assert [k.name for k in RULESET_KINDS] == [
        "price_list", "product_catalog", "discount_rules", "tax_rules", "service_charges",
        "manual_adjustment_limits"]
    assert set(SCENARIO_RUNNERS) == {"price_order"}
    assert list(STAGES) == ["price_list", "service_charges", "quantity", "roll_up", "rounding",
                            "discounts", "manual_adjustments", "document_rounding", "tax"]


def test_every_error_is_a_pricing_error_and_a_builtin():
    from pricing_engine import errors

    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, pricing_engine.PricingError)
        assert issubclass(cls, ValueError | LookupError) or cls is pricing_engine.PricingError


def test_the_stages_package_exports_the_registry_and_every_stage_class():
    from pricing_engine import stages

    assert set(stages.__all__) == {
        "DEFAULT_PIPELINE", "STAGES", "DiscountStage", "DocumentRoundingStage",
        "ManualAdjustmentStage", "PriceListStage", "QuantityStage", "RollUpStage", "RoundingStage",
        "ServiceChargeStage", "TaxStage"}
    assert all(hasattr(stages, name) for name in stages.__all__)


def test_each_stage_lives_in_the_module_named_after_it():
    for stage in STAGES.values():
        assert type(stage).__module__ == f"pricing_engine.stages.{stage.name}"
