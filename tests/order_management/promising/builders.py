"""Small builders shared by the promising tests (dates, supply positions, requests)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from order_management.promising import (
    DemandLine,
    DemandRequest,
    Receipt,
    ShipTo,
    SupplyPosition,
)

RULESETS = Path(__file__).resolve().parents[3] / "rulesets" / "order"
SOURCING = RULESETS / "sourcing.yaml"
SCENARIOS = RULESETS / "sourcing.scenarios.yaml"
AS_OF = dt.date(2026, 11, 25)


def day(offset: int) -> dt.date:
    """``AS_OF`` + ``offset`` days."""
    return AS_OF + dt.timedelta(days=offset)


def supply(item: str, location: str, on_hand: int, *receipts: tuple[str, int, int], **extra: Any) -> SupplyPosition:
    """A supply position; receipts as (id, quantity, days from AS_OF)."""
    return SupplyPosition(item=item, location=location, on_hand=on_hand,
                          receipts=tuple(Receipt(id=r, quantity=q, expected_on=day(d)) for r, q, d in receipts),
                          **extra)


def order(reference: str, *lines: tuple[str, str, int] | DemandLine, country: str = "DE",
          **extra: Any) -> DemandRequest:
    """A request; lines as (line_id, item, quantity) or DemandLine objects."""
    built = tuple(line if isinstance(line, DemandLine) else DemandLine(line_id=line[0], item=line[1], quantity=line[2])
                  for line in lines)
    return DemandRequest(reference=reference, lines=built, ship_to=ShipTo(country=country), **extra)
