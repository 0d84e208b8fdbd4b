"""Plain JSON for API responses: Decimals as strings (never floats), dates as ISO text.

>>> from decimal import Decimal
>>> plain({"total": Decimal("10.50"), "lines": (1, 2)})
{'total': '10.50', 'lines': [1, 2]}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from oms_host.storage import OrderEvent
from order_management import OrderRecord

__all__ = ["plain", "record_detail"]


def plain(value: Any) -> Any:
    if isinstance(value, Enum):  # before str: a StrEnum is a str
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return str(value)


def record_detail(record: OrderRecord, events: list[OrderEvent] = ()) -> dict[str, Any]:  # type: ignore[assignment]
    """An order with its prices (and waterfalls), promises, history of revisions and audit events."""
    pricing = record.pricing
    return {
        "order": record.order.model_dump(mode="json"),
        "pricing": None if pricing is None else {
            "subtotal": plain(pricing.subtotal), "tax": plain(pricing.tax), "total": plain(pricing.total),
            "line_net": plain(pricing.line_net), "requires_approval": pricing.requires_approval,
            "approval_reasons": list(pricing.approval_reasons), "priced": plain(pricing.priced),
        },
        "promises": plain(record.promises),
        "hold_reasons": list(record.hold_reasons),
        "history": [{"version": r.version, "at": r.at.isoformat(), "actor": r.actor, "reason": r.reason,
                     "changes": [{"path": c.path, "text": str(c)} for c in r.changes]}
                    for r in record.revisions],
        "events": [{"at": e.at.isoformat(), "actor": e.actor, "kind": e.kind, "detail": plain(e.detail)}
                   for e in events],
    }
