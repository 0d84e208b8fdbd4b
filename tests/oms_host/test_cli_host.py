"""``tarif demo``, ``tarif import`` and ``tarif serve`` on a SQLite file."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from oms_host.cli import main
from oms_host.storage import Database
from oms_host.storage.schema import orders
from tests.oms_host.conftest import RULESETS


@pytest.fixture
def url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


def _orders(url: str) -> list[tuple[str, str]]:
    db = Database(url)
    with db.read() as connection:
        rows = connection.execute(sa.select(orders.c.order_id, orders.c.created_at).order_by(orders.c.order_id))
        found = [(r.order_id, str(r.created_at)) for r in rows]
    db.dispose()
    return found


def test_demo_data_is_the_same_on_every_run_and_not_seeded_twice(tmp_path, capsys) -> None:
    args = ["--customers", "20", "--orders", "25", "--until", "2025-06-30", "--rulesets", str(RULESETS)]
    first, second = f"sqlite:///{tmp_path / 'a.sqlite3'}", f"sqlite:///{tmp_path / 'b.sqlite3'}"
    assert main(["demo", "--database", first, *args]) == 0
    assert main(["demo", "--database", second, *args]) == 0
    assert _orders(first) == _orders(second) and len(_orders(first)) > 20
    assert main(["demo", "--database", first, *args]) == 0
    assert "already present" in capsys.readouterr().out
    assert len(_orders(first)) == len(_orders(second))


def test_import_reports_problems_by_path_and_follows_the_policy(url, tmp_path, capsys) -> None:
    main(["demo", "--database", url, "--customers", "5", "--orders", "1", "--rulesets", str(RULESETS)])
    batch = tmp_path / "batch.json"
    good = {"source_system": "erp", "external_ref": "E-1", "customer_id": "C-0001", "currency": "EUR",
            "lines": [{"line_id": "1", "sku": "LOCK-U", "quantity": "2"}]}
    bad = {**good, "external_ref": "E-2", "lines": [{"line_id": "1", "sku": "LOCK-U", "quantity": "-2"}]}
    batch.write_text(json.dumps({"orders": [good, bad]}))
    capsys.readouterr()
    before = len(_orders(url))
    assert main(["import", str(batch), "--database", url, "--rulesets", str(RULESETS)]) == 1
    out = capsys.readouterr().out
    assert "orders[1].lines[0].quantity" in out and "batch rejected" in out
    assert len(_orders(url)) == before
    assert main(["import", str(batch), "--policy", "reject_failed_orders", "--database", url,
                 "--rulesets", str(RULESETS)]) == 1
    assert len(_orders(url)) == before + 1
    assert main(["import", str(tmp_path / "missing.json"), "--database", url]) == 2


def test_serve_prints_the_address_and_the_demo_credentials(url, capsys, monkeypatch) -> None:
    import uvicorn

    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    assert main(["serve", "--database", url, "--port", "8765", "--rulesets", str(RULESETS)]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8765/" in out and "desk-demo" in out and "approver-demo" in out
    assert started["host"] == "127.0.0.1" and started["port"] == 8765


def test_an_issued_api_token_authenticates_its_system_until_revoked(url, capsys) -> None:
    import datetime as dt

    from oms_host.auth import Role, Users

    assert main(["token", "erp", "--role", "read_only", "--database", url]) == 0
    token = capsys.readouterr().out.strip()
    db = Database(url)
    now = dt.datetime.now(dt.UTC)
    user = Users(db).by_token(token, now)
    assert user is not None and user.role == Role.READ_ONLY and user.actor == "token:erp"
    assert main(["token", "erp", "--revoke", token, "--database", url]) == 0
    assert Users(db).by_token(token, now) is None
    db.dispose()


def test_revoking_a_token_nobody_holds_says_so_and_fails(url, capsys) -> None:
    assert main(["token", "erp", "--revoke", "no-such-token", "--database", url]) == 1
    captured = capsys.readouterr()
    assert "revoked the token" not in captured.out and "nothing revoked" in captured.err
    assert main(["token", "erp", "--database", url]) == 0
    token = capsys.readouterr().out.strip()
    assert main(["token", "wms", "--revoke", token, "--database", url]) == 1  # erp's token, not wms's
    assert "belongs to erp" in capsys.readouterr().err
    assert main(["token", "erp", "--revoke", token, "--database", url]) == 0
    assert main(["token", "erp", "--revoke", token, "--database", url]) == 1  # already revoked


def test_a_warehouse_gets_an_integration_token_to_report_shipments(url, capsys) -> None:
    import datetime as dt

    from oms_host.auth import Role, Users

    assert main(["token", "wms", "--role", "integration", "--database", url]) == 0
    token = capsys.readouterr().out.strip()
    db = Database(url)
    user = Users(db).by_token(token, dt.datetime.now(dt.UTC))
    db.dispose()
    assert user is not None and user.role == Role.INTEGRATION


def test_a_user_is_added_with_a_hashed_password_and_can_be_locked_out(url, capsys, monkeypatch) -> None:
    import datetime as dt
    import io

    from oms_host.auth import Role, Users

    monkeypatch.setattr("sys.stdin", io.StringIO("correct horse battery\n"))
    assert main(["user", "nina", "--role", "approver", "--password-stdin", "--database", url]) == 0
    db = Database(url)
    users = Users(db)
    nina = users.authenticate("nina", "correct horse battery")
    assert nina is not None and nina.role == Role.APPROVER
    with db.read() as connection:
        stored = connection.execute(sa.text("SELECT password_hash FROM users WHERE username = 'nina'")).scalar()
    assert stored.startswith("$argon2id$") and "correct" not in stored
    token = users.open_session(nina, dt.datetime.now(dt.UTC))
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["user", "nina", "--password-stdin", "--database", url]) == 1
    assert main(["user", "nina", "--disable", "--database", url]) == 0
    assert users.authenticate("nina", "correct horse battery") is None
    assert users.by_token(token, dt.datetime.now(dt.UTC)) is None
    db.dispose()


def test_the_maintenance_round_releases_orphans_and_scans_for_jeopardy(url) -> None:
    from oms_host.host import open_host

    host = open_host(url, RULESETS)
    done = host.maintain()
    assert done["orphans_released"] == 0 and "orders_scanned" in done
    host.close()
