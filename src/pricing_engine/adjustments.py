"""The ``manual_adjustment_limits`` ruleset kind: how far each role may go.

A person may override a unit price or give a discount, always with a reason.
Each role has ``max_discount_percent`` (of the amount before the adjustment) and
``may_override``; an adjustment beyond its role's limit — or by a role the file
does not know — is still priced, and the line and order are flagged
``requires_approval`` with the reason, for the order layer to act on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import Field

from pricing_engine.models import Dec
from pricing_engine.specs import Spec
from rule_language import CompileContext, RulesetHeader

__all__ = ["AdjustmentLimits", "LimitsFile", "RoleLimit", "compile_limits"]


class RoleLimitSpec(Spec):
    max_discount_percent: Dec = Field(Decimal(0), ge=0, le=100)
    may_override: bool = False


class LimitsFile(RulesetHeader):
    kind: Literal["manual_adjustment_limits"]
    roles: dict[str, RoleLimitSpec] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class RoleLimit:
    max_discount_percent: Decimal
    may_override: bool


@dataclass(frozen=True)
class AdjustmentLimits:
    ref: str
    roles: Mapping[str, RoleLimit]


def compile_limits(model: LimitsFile, ctx: CompileContext) -> AdjustmentLimits:
    return AdjustmentLimits(
        f"{model.name}@{model.version}",
        {k: RoleLimit(v.max_discount_percent, v.may_override) for k, v in model.roles.items()},
    )
