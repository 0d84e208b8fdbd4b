"""The pricing engine's exception tree.

One base, :class:`PricingError`, split by phase: problems found while loading and
linking pricing rulesets (:class:`PricingRulesetError`; the loader reports those as
located ``file:line:col`` problems, these classes are for the pure helpers that
validate data outside a ruleset) and problems found while pricing an order
(:class:`PricingEvaluationError` and its subclasses). Each class also subclasses the
matching built-in so callers can catch ``ValueError``/``LookupError``/``TypeError``.
"""

from __future__ import annotations

__all__ = [
    "CurrencyMismatchError",
    "InvalidAmountError",
    "NoPriceError",
    "PricingError",
    "PricingEvaluationError",
    "PricingRulesetError",
    "TierTableError",
    "UnknownCurrencyError",
]


class PricingError(Exception):
    """Base of every error raised by :mod:`pricing_engine`."""


class PricingRulesetError(PricingError, ValueError):
    """Pricing data (a tier table, a tax rate, a rounding policy) is inconsistent."""


class TierTableError(PricingRulesetError):
    """A tier table has a gap, an overlap, or does not start at the first unit.

    ``problems`` lists every problem as ``(tier_index, message)``.
    """

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"tier {i + 1}: {m}" for i, m in problems))


class UnknownCurrencyError(PricingError, ValueError):
    """A currency code that babel does not know (fix: use an ISO 4217 code)."""


class CurrencyMismatchError(PricingError, ValueError):
    """Arithmetic or comparison across two currencies (convert first)."""


class InvalidAmountError(PricingError, ValueError):
    """An amount that cannot be used here (e.g. not rounded to the currency's unit)."""


class PricingEvaluationError(PricingError, ValueError):
    """Pricing an order failed; ``loc`` is the pydantic-style path into the order.

    ``problems`` lists every ``(loc, message)`` found (one, unless a stage reports
    several at once, like every line without a price).
    """

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        self.loc = loc
        self.message = message
        self.problems: list[tuple[tuple[str | int, ...], str]] = [(loc, message)]
        super().__init__(_located(loc, message))

    @classmethod
    def all(cls, problems: list[tuple[tuple[str | int, ...], str]]) -> PricingEvaluationError:
        """One error carrying several problems; its text lists them all."""
        loc, message = problems[0]
        error = cls(message, loc)
        error.problems = list(problems)
        if len(problems) > 1:
            error.args = ("; ".join(_located(lc, m) for lc, m in problems),)
        return error


def _located(loc: tuple[str | int, ...], message: str) -> str:
    where = ".".join(str(p) for p in loc)
    return f"{where}: {message}" if where else message


class NoPriceError(PricingEvaluationError, LookupError):
    """No price list entry prices this line (fix: add an entry or a category price)."""
