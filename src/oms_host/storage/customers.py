"""Customer master data in SQL: the order layer's :class:`CustomerDirectory`, plus listing for the desk."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa

from order_management import Customer

from .database import Database
from .schema import customers

__all__ = ["SqlCustomerDirectory"]


class SqlCustomerDirectory:
    """Customers by id; ``put`` inserts or replaces."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, customer_id: str) -> Customer:
        with self.db.read() as connection:
            data = connection.execute(sa.select(customers.c.data).where(customers.c.id == customer_id)).scalar()
        if data is None:
            raise LookupError(f"unknown customer {customer_id!r}")
        return Customer.model_validate(data)

    def put(self, customer: Customer) -> None:
        self.put_many([customer])

    def put_many(self, batch: Iterable[Customer]) -> None:
        rows = [{"id": c.id, "name": c.name, "segment": c.segment,
                 "country": c.ship_to.address.country if c.ship_to else None,
                 "data": c.model_dump(mode="json")} for c in batch]
        if not rows:
            return
        with self.db.write() as connection:
            connection.execute(customers.delete().where(customers.c.id.in_([r["id"] for r in rows])))
            connection.execute(customers.insert(), rows)

    def search(self, text: str = "", *, limit: int = 50, offset: int = 0) -> Sequence[Customer]:
        """Customers whose id or name contains ``text`` (case-insensitive), by name."""
        query = sa.select(customers.c.data).order_by(customers.c.name, customers.c.id).limit(limit).offset(offset)
        if text:
            pattern = f"%{text.lower()}%"
            query = query.where(sa.or_(sa.func.lower(customers.c.name).like(pattern),
                                       sa.func.lower(customers.c.id).like(pattern)))
        with self.db.read() as connection:
            return [Customer.model_validate(d) for d in connection.execute(query).scalars()]

    def count(self) -> int:
        with self.db.read() as connection:
            return connection.execute(sa.select(sa.func.count()).select_from(customers)).scalar_one()
