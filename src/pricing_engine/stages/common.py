"""What the stage modules share: how an amount reads in a waterfall description.

The stage Protocol, the working state and its invariants live in
:mod:`pricing_engine.pipeline`; rule evaluation with located errors in
:mod:`pricing_engine.evaluation`.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = ["fmt"]


def fmt(d: Decimal) -> str:
    """An amount for a waterfall description, in plain notation (never ``1E+2``).

    >>> fmt(Decimal("1E+2")), fmt(Decimal("0.50"))
    ('100', '0.50')
    """
    return format(d, "f")
