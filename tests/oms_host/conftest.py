"""Databases for the host app's tests: every storage and API test runs on SQLite and on PostgreSQL.

PostgreSQL is reached at ``TARIF_TEST_POSTGRES_URL`` (default: the machine's
server on 127.0.0.1:5432, database ``test``); each test session creates a fresh
database and drops it at the end. When PostgreSQL cannot be reached the
PostgreSQL half of the suite is skipped locally, and FAILS in CI (``CI=true``),
where ``.ci/run`` makes sure the server runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from oms_host.storage import Database
from oms_host.storage.schema import metadata
from order_management import FixedClock
from order_management.promising import SupplyPosition
from tests.customers import CUSTOMERS as CUSTOMERS  # the shared test customers, named here too

POSTGRES_ADMIN_URL = os.environ.get("TARIF_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC)
BACKENDS = ["sqlite", "postgresql"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@contextlib.contextmanager
def fresh_postgres_database(prefix: str = "tarif_test") -> Iterator[str]:
    """The URL of a fresh, empty PostgreSQL database, dropped afterwards; skipped (failed on CI) without PostgreSQL."""
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        admin.dispose()
        message = (f"PostgreSQL is not reachable at {admin.url.render_as_string(hide_password=True)} "
                   f"({type(exc.orig).__name__}); start it or set TARIF_TEST_POSTGRES_URL")
        if _in_ci():
            pytest.fail(message + " — CI must run the PostgreSQL half of the suite", pytrace=False)
        pytest.skip(message)
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        # a throw-away database need not wait for the disk on each commit
        connection.execute(sa.text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test session (dropped afterwards)."""
    with fresh_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'tarif.sqlite3'}"


@pytest.fixture(scope="session", params=BACKENDS)
def migrated(request: pytest.FixtureRequest) -> Iterator[Database]:
    """One migrated database per backend and session."""
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_server_url")
    db = Database(url)
    db.migrate()
    yield db
    db.dispose()


def empty(db: Database) -> None:
    """Delete every row (keeping the schema) and reset the order counter."""
    with db.write() as connection:
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        connection.execute(sa.text("INSERT INTO counters (name, value) VALUES ('order', 0)"))


@pytest.fixture
def db(migrated: Database) -> Database:
    """A migrated, empty database (SQLite, then PostgreSQL)."""
    empty(migrated)
    return migrated


SUPPLY = [SupplyPosition(item="BIKE-TRAIL", location="DE-KS", on_hand=3, lead_time_days=10),
          SupplyPosition(item="BIKE-CITY", location="DE-KS", on_hand=0, lead_time_days=21),
          SupplyPosition(item="HELMET-AERO", location="FR-LY", on_hand=50),
          SupplyPosition(item="HELMET-AERO", location="DE-KS", on_hand=20),
          SupplyPosition(item="LOCK-U", location="FR-LY", on_hand=3),
          SupplyPosition(item="BOTTLE", location="FR-LY", on_hand=500)]

RULESETS = Path(__file__).resolve().parents[2] / "rulesets"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def browser_like(client):
    """``client`` sending what the desk's own pages send: its origin and this browser's CSRF token.

    Any first response sets the CSRF cookie; the token then goes in the
    ``X-CSRF-Token`` header of every request (forms accept it there too).
    """
    from oms_host.api.security import CSRF_COOKIE, CSRF_HEADER

    client.get("/api/me")
    client.headers.update({"Origin": str(client.base_url).rstrip("/"), CSRF_HEADER: client.cookies[CSRF_COOKIE]})
    return client


def draft(**overrides):
    """A two-line order for C-100 (a trail bike and two helmets), with ``overrides`` applied."""
    order = {"customer_id": "C-100", "currency": "EUR", "channel": "web",
             "lines": [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "1"},
                       {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]}
    order.update(overrides)
    return order
