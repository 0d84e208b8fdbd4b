"""The database: where it is, how to connect, and bringing its schema up to date.

SQLite (a file, by default ``./tarif.sqlite3``) or PostgreSQL, chosen by
``TARIF_DATABASE_URL`` (``postgresql+psycopg://user@host/db``). Migrations are
Alembic scripts kept inside this package and run programmatically by
:meth:`Database.migrate`, so a fresh machine needs no separate step.

SQLite runs in WAL mode with a busy timeout; a writing transaction starts
with ``BEGIN IMMEDIATE`` (pass ``execution_options(write=True)``), so two
writers queue instead of failing half-way with "database is locked".
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

__all__ = ["DEFAULT_URL", "Database", "Transaction", "database_url"]

DEFAULT_URL = "sqlite:///tarif.sqlite3"
_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
T = TypeVar("T")


def database_url(url: str | None = None) -> str:
    """``url``, else ``TARIF_DATABASE_URL``, else a SQLite file in the working directory.

    >>> database_url("sqlite:///x.sqlite3")
    'sqlite:///x.sqlite3'
    """
    return url or os.environ.get("TARIF_DATABASE_URL") or DEFAULT_URL


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        write = connection.get_execution_options().get("write", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


class Database:
    """One database: an engine, its migrations, and transactions."""

    def __init__(self, url: str | None = None, *, echo: bool = False, pool_size: int = 10) -> None:
        self.url = database_url(url)
        options: dict[str, Any] = {"echo": echo, "future": True}
        if self.url.startswith("sqlite"):
            options["connect_args"] = {"check_same_thread": False, "timeout": 30}
            if ":memory:" in self.url or self.url in ("sqlite://", "sqlite:///"):
                raise ValueError("use a SQLite file: an in-memory database is private to one connection")
        else:
            options.update(pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)
        self.engine = sa.create_engine(self.url, **options)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        if self.is_sqlite:
            _sqlite_setup(self.engine)

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

    # -- schema ------------------------------------------------------------------------
    def alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        return config

    def migrate(self, revision: str = "head") -> None:
        """Bring the schema up to ``revision`` (idempotent)."""
        config = self.alembic_config()
        with self.engine.connect().execution_options(write=True) as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            connection.commit()

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    # -- transactions -------------------------------------------------------------------
    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A short read-only transaction."""
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One writing transaction: committed on success, rolled back on any exception."""
        with self.engine.connect().execution_options(write=True) as connection, connection.begin():
            yield connection

    def retrying(self, work: Callable[[Connection], T], attempts: int = 5) -> T:
        """Run ``work`` in a writing transaction, retrying on serialisation failures and deadlocks."""
        for attempt in range(attempts):
            try:
                with self.write() as connection:
                    return work(connection)
            except sa.exc.OperationalError as exc:
                if attempt == attempts - 1 or not _retryable(exc):
                    raise
                time.sleep(0.01 * 2 ** attempt)
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


def _retryable(exc: sa.exc.OperationalError) -> bool:
    code = getattr(exc.orig, "sqlstate", None)
    if code in ("40001", "40P01"):  # serialization_failure, deadlock_detected
        return True
    return "database is locked" in str(exc.orig)


class Transaction:
    """One open writing transaction, offered with :class:`Database`'s interface.

    The SQL repositories read and write through ``read()``, ``write()`` and
    ``retrying()``; given a :class:`Transaction` instead of the
    :class:`Database`, every statement of theirs runs on this one connection
    and lands with its commit — the unit of work's — or not at all.
    """

    def __init__(self, connection: Connection, is_sqlite: bool) -> None:
        self.connection = connection
        self.is_sqlite = is_sqlite

    @contextmanager
    def read(self) -> Iterator[Connection]:
        yield self.connection

    @contextmanager
    def write(self) -> Iterator[Connection]:
        yield self.connection

    def retrying(self, work: Callable[[Connection], T], attempts: int = 5) -> T:
        """``work`` on this transaction; a serialisation failure fails the whole unit of work."""
        return work(self.connection)
