"""The default pipeline stages, one module per stage, registered by stable name.

Order (:data:`DEFAULT_PIPELINE`): ``price_list`` → ``service_charges`` →
``quantity`` → ``roll_up`` → ``rounding`` → ``discounts`` →
``manual_adjustments`` → ``document_rounding`` → ``tax``. Each is a small class
with a ``name`` and ``run(state)`` in the module of the same name; see
:mod:`pricing_engine.pipeline` for the Protocol and the invariants they keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pricing_engine.pipeline import PricingStage
from pricing_engine.stages.discounts import DiscountStage
from pricing_engine.stages.document_rounding import DocumentRoundingStage
from pricing_engine.stages.manual_adjustments import ManualAdjustmentStage
from pricing_engine.stages.price_list import PriceListStage
from pricing_engine.stages.quantity import QuantityStage
from pricing_engine.stages.roll_up import RollUpStage
from pricing_engine.stages.rounding import RoundingStage
from pricing_engine.stages.service_charges import ServiceChargeStage
from pricing_engine.stages.tax import TaxStage

__all__ = [
    "DEFAULT_PIPELINE",
    "STAGES",
    "DiscountStage",
    "DocumentRoundingStage",
    "ManualAdjustmentStage",
    "PriceListStage",
    "QuantityStage",
    "RollUpStage",
    "RoundingStage",
    "ServiceChargeStage",
    "TaxStage",
]

_STAGE_LIST: tuple[PricingStage, ...] = (
    PriceListStage(),
    ServiceChargeStage(),
    QuantityStage(),
    RollUpStage(),
    RoundingStage(),
    DiscountStage(),
    ManualAdjustmentStage(),
    DocumentRoundingStage(),
    TaxStage(),
)

#: Every registered stage by its stable name (read-only).
STAGES: Mapping[str, PricingStage] = MappingProxyType({s.name: s for s in _STAGE_LIST})
#: The default order of the pipeline.
DEFAULT_PIPELINE: tuple[PricingStage, ...] = _STAGE_LIST
