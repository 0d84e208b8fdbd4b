"""The host app's audit trail beside the order history: approvals, holds, documents viewed.

Revisions record what changed in an order; events record what people did with
it that is not a change (viewed the quote, downloaded the invoice) and the
desk's decisions. The orchestration package's audit trail replaces this once it
is in the library.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .database import Database
from .schema import order_events

__all__ = ["OrderEvent", "OrderEvents"]


@dataclass(frozen=True)
class OrderEvent:
    order_id: str
    at: dt.datetime
    actor: str
    kind: str
    detail: dict[str, Any]


class OrderEvents:
    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, order_id: str, actor: str, kind: str, at: dt.datetime,
               connection: Connection | None = None, **detail: Any) -> None:
        row = {"order_id": order_id, "actor": actor, "kind": kind, "at": at, "detail": detail}
        if connection is not None:
            connection.execute(order_events.insert().values(**row))
            return
        with self.db.write() as conn:
            conn.execute(order_events.insert().values(**row))

    def for_order(self, order_id: str) -> list[OrderEvent]:
        with self.db.read() as connection:
            rows = connection.execute(sa.select(order_events).where(order_events.c.order_id == order_id)
                                      .order_by(order_events.c.at, order_events.c.id)).all()
        return [OrderEvent(r.order_id, _aware(r.at), r.actor, r.kind, r.detail) for r in rows]


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
