"""SQL storage for the host app: the order layer's ports on SQLAlchemy 2 (SQLite or PostgreSQL).

>>> from oms_host.storage import Database
>>> Database("sqlite:///:memory:")
Traceback (most recent call last):
ValueError: use a SQLite file: an in-memory database is private to one connection
"""

from .customers import SqlCustomerDirectory
from .database import DEFAULT_URL, Database, database_url
from .events import OrderEvent, OrderEvents
from .orders import SqlOrderRepository, load_records
from .reservations import SqlReservationStore
from .unit_of_work import SqlUnitOfWork

__all__ = [
    "DEFAULT_URL",
    "Database",
    "OrderEvent",
    "OrderEvents",
    "SqlCustomerDirectory",
    "SqlOrderRepository",
    "SqlReservationStore",
    "SqlUnitOfWork",
    "database_url",
    "load_records",
]
