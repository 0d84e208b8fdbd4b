"""Pieces shared by several pricing ruleset kinds: rounding specs, segmentation,
per-currency amounts.

Segmentation decides which customers, channels and ship-to regions a price list
(or a discount) is for; :meth:`Segmentation.specificity` is the precedence key
documented in ``docs/pricing.md``: a list that names the customer's account beats
one that names a segment, which beats one that names a channel, which beats one
that names a region.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from pricing_engine.models import Dec
from pricing_engine.rounding import RoundingMode, RoundingPolicy, RoundingScope, known_currencies

__all__ = [
    "CurrencyCode",
    "Matcher",
    "PerCurrency",
    "RoundingSpec",
    "Segmentation",
    "Spec",
]


class Spec(BaseModel):
    """Base of every nested ruleset model: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _currency(value: object) -> object:
    if isinstance(value, str) and value not in known_currencies():
        raise ValueError(f"unknown currency {value!r}; use an ISO 4217 code such as EUR")
    return value


CurrencyCode = Annotated[str, BeforeValidator(_currency)]


class RoundingSpec(Spec):
    mode: RoundingMode = RoundingMode.HALF_UP
    scope: RoundingScope = RoundingScope.LINE
    step: Dec | None = Field(None, gt=0, description="cash / price-point step, e.g. 0.05")

    def policy(self) -> RoundingPolicy:
        return RoundingPolicy(self.mode, self.scope, self.step)


class Segmentation(Spec):
    """Who a price list or rule is for; an omitted field means "anyone"."""

    accounts: tuple[str, ...] | None = None
    segments: tuple[str, ...] | None = None
    channels: tuple[str, ...] | None = None
    regions: tuple[str, ...] | None = Field(
        None, description="ship-to country ('DE') or country-region ('US-CA') codes"
    )


@dataclass(frozen=True, slots=True)
class Matcher:
    """A compiled :class:`Segmentation`: frozensets, and the precedence key."""

    accounts: frozenset[str] | None
    segments: frozenset[str] | None
    channels: frozenset[str] | None
    regions: frozenset[str] | None

    @classmethod
    def of(cls, seg: Segmentation) -> Matcher:
        def fs(v: tuple[str, ...] | None) -> frozenset[str] | None:
            return None if v is None else frozenset(v)

        return cls(fs(seg.accounts), fs(seg.segments), fs(seg.channels), fs(seg.regions))

    def matches(
        self,
        account: str | None,
        segment: str | None,
        channel: str | None,
        country: str | None,
        region: str | None,
    ) -> bool:
        if self.accounts is not None and account not in self.accounts:
            return False
        if self.segments is not None and segment not in self.segments:
            return False
        if self.channels is not None and channel not in self.channels:
            return False
        if self.regions is not None:
            full = f"{country}-{region}" if country and region else None
            if country not in self.regions and full not in self.regions:
                return False
        return True

    @property
    def specificity(self) -> tuple[bool, bool, bool, bool]:
        """Higher sorts first: account, then segment, channel, region named."""
        return (
            self.accounts is not None,
            self.segments is not None,
            self.channels is not None,
            self.regions is not None,
        )


#: An amount per currency, as authors write it: ``{EUR: 49.00, USD: 55.00}``.
PerCurrency = dict[CurrencyCode, Dec]
