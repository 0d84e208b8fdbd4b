"""Order records to JSON and back, losslessly.

The canonical form of an order is its pydantic model; the database keeps it as
JSON (Decimals as strings, never floats) next to a few indexed columns for
searching. Revision diffs hold arbitrary field values (a Party, a Decimal, a
line, an enum), so they are written with a small tagged encoding whose type
names come from a fixed registry — never Python import paths.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from order_management import (
    Address,
    Change,
    Channel,
    LineKind,
    LinePromise,
    LinePromiseStatus,
    LineStatus,
    ManualDiscount,
    Order,
    OrderLine,
    OrderRecord,
    OrderStatus,
    Party,
    PricingOutcome,
    Revision,
    ServiceTerms,
)
from pricing_engine import PricedOrder

from .tagged import TaggedCodec

__all__ = ["decode_record", "decode_revision", "decode_value", "encode_record", "encode_revision", "encode_value"]

_CODEC = TaggedCodec("an order record", models=(Address, ManualDiscount, Order, OrderLine, Party, ServiceTerms),
                     enums=(Channel, LineKind, LineStatus, OrderStatus, LinePromiseStatus))
#: A JSON-safe, type-tagged form of a value of an order record, and its inverse.
encode_value = _CODEC.encode
decode_value = _CODEC.decode


def encode_revision(revision: Revision) -> dict[str, Any]:
    return {
        "version": revision.version,
        "at": revision.at.isoformat(),
        "actor": revision.actor,
        "reason": revision.reason,
        "changes": [{"path": c.path, "before": encode_value(c.before), "after": encode_value(c.after),
                     "field_key": c.field_key, "line_index": c.line_index} for c in revision.changes],
        "order": revision.order.model_dump(mode="json"),
    }


def decode_revision(data: dict[str, Any]) -> Revision:
    return Revision(
        version=data["version"],
        at=dt.datetime.fromisoformat(data["at"]),
        actor=data["actor"],
        reason=data["reason"],
        changes=tuple(Change(c["path"], decode_value(c["before"]), decode_value(c["after"]), c["field_key"],
                             c["line_index"]) for c in data["changes"]),
        order=Order.model_validate(data["order"]),
    )


def _encode_pricing(pricing: PricingOutcome | None) -> dict[str, Any] | None:
    if pricing is None:
        return None
    priced = pricing.priced
    if isinstance(priced, BaseModel):
        priced = priced.model_dump(mode="json")
    return {
        "subtotal": str(pricing.subtotal), "tax": str(pricing.tax), "total": str(pricing.total),
        "line_net": {k: str(v) for k, v in pricing.line_net.items()},
        "requires_approval": pricing.requires_approval,
        "approval_reasons": list(pricing.approval_reasons),
        "priced": priced,
    }


def _decode_pricing(data: dict[str, Any] | None) -> PricingOutcome | None:
    if data is None:
        return None
    priced = data["priced"]
    if isinstance(priced, dict):
        with contextlib.suppress(ValueError):  # written by another engine version: keep the plain data
            priced = PricedOrder.model_validate(priced)
    return PricingOutcome(
        subtotal=Decimal(data["subtotal"]), tax=Decimal(data["tax"]), total=Decimal(data["total"]),
        line_net={k: Decimal(v) for k, v in data["line_net"].items()},
        requires_approval=data["requires_approval"],
        approval_reasons=tuple(data["approval_reasons"]),
        priced=priced,
    )


def _encode_promise(promise: LinePromise) -> dict[str, Any]:
    return {"line_id": promise.line_id, "status": promise.status.value,
            "promised_date": promise.promised_date.isoformat() if promise.promised_date else None,
            "ship_from": [[loc, str(qty)] for loc, qty in promise.ship_from], "reason": promise.reason}


def _decode_promise(data: dict[str, Any]) -> LinePromise:
    return LinePromise(
        line_id=data["line_id"], status=LinePromiseStatus(data["status"]),
        promised_date=dt.date.fromisoformat(data["promised_date"]) if data["promised_date"] else None,
        ship_from=tuple((loc, Decimal(qty)) for loc, qty in data["ship_from"]), reason=data["reason"],
    )


def encode_record(record: OrderRecord) -> dict[str, Any]:
    """Everything of a record except its revisions (stored one row each)."""
    return {
        "order": record.order.model_dump(mode="json"),
        "pricing": _encode_pricing(record.pricing),
        "promises": [_encode_promise(p) for p in record.promises],
        "hold_reasons": list(record.hold_reasons),
        "notes": list(record.notes),
    }


def decode_record(data: dict[str, Any], revisions: tuple[Revision, ...]) -> OrderRecord:
    return OrderRecord(
        order=Order.model_validate(data["order"]),
        revisions=revisions,
        pricing=_decode_pricing(data["pricing"]),
        promises=tuple(_decode_promise(p) for p in data["promises"]),
        hold_reasons=tuple(data["hold_reasons"]),
        notes=tuple(data["notes"]),
    )
