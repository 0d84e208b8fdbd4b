"""What the stage modules share: description formatting and guarded rule evaluation.

The stage Protocol, the working state and its invariants live in
:mod:`pricing_engine.pipeline`; this module holds only the small helpers several
stages use.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pricing_engine.errors import PricingEvaluationError
from rule_language import EvaluationError

__all__ = ["evaluate", "fmt"]


def fmt(d: Decimal) -> str:
    """An amount for a waterfall description, in plain notation (never ``1E+2``)."""
    return format(d, "f")


def evaluate(fn: Any, env: Mapping[str, Any], what: str, loc: tuple[str | int, ...]) -> Any:
    """Call a compiled rule ``fn`` on ``env``; a rule-language error becomes a
    :class:`~pricing_engine.errors.PricingEvaluationError` located at ``loc`` in the order."""
    try:
        return fn(env)
    except EvaluationError as exc:
        raise PricingEvaluationError(f"{what}: {exc}", loc) from None
