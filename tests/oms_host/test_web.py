"""The order desk's pages render for each role and language, and their actions respect the roles."""

from __future__ import annotations

import datetime as dt

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from oms_host.api import create_app
from oms_host.auth import Users
from oms_host.demo import DEMO_USERS, ensure_demo_users, seed_demo
from oms_host.host import open_host
from order_management import FixedClock
from tests.oms_host.conftest import NOW, RULESETS, browser_like, empty

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="module")
def bundle():
    from oms_host.kinds import all_kinds
    from rule_language import load_ruleset_dir

    return load_ruleset_dir(RULESETS, all_kinds())


@pytest.fixture(scope="module")
def seeded(migrated, bundle):
    """A host app seeded once per database with 60 demo orders (tests here change little of it)."""
    empty(migrated)
    host = open_host(migrated.url, bundle=bundle, clock=FixedClock(NOW), migrate=False)
    users = Users(host.db, hasher=FAST_HASHER)
    ensure_demo_users(users)
    seed_demo(host, customers=40, orders_count=60, months=2, until=NOW.date())
    app = create_app(host)
    app.state.users = users
    return host, app


@pytest.fixture
def desk(seeded):
    """A logged-out, browser-like client of the seeded app."""
    host, app = seeded
    client = browser_like(TestClient(app))
    client.host = host
    return client


def login(client: TestClient, username: str) -> None:
    password = next(p for u, p, _, _ in DEMO_USERS if u == username)
    response = client.post("/login", data={"username": username, "password": password}, follow_redirects=False)
    assert response.status_code == 303


def test_pages_need_a_login_and_a_wrong_password_is_refused(desk) -> None:
    assert desk.get("/orders", follow_redirects=False).headers["location"] == "/login"
    refused = desk.post("/login", data={"username": "desk", "password": "guess"})
    assert refused.status_code == 401 and "wrong password" in refused.text


@pytest.mark.parametrize("page", ["/orders", "/orders?flag=approval&status=awaiting_approval", "/orders/new",
                                  "/exceptions", "/reports", "/customers?q=a", "/orders?q=SO-0000"])
def test_every_page_renders_in_english_and_french(desk, page) -> None:
    login(desk, "desk")
    english = desk.get(page)
    assert english.status_code == 200 and 'lang="en"' in english.text
    french = desk.get(page + ("&" if "?" in page else "?") + "lang=fr")
    assert french.status_code == 200 and 'lang="fr"' in french.text and "Commandes" in french.text


def test_amounts_and_dates_are_formatted_for_the_locale(desk) -> None:
    login(desk, "desk")
    order_id = "SO-000001"
    english = desk.get(f"/orders/{order_id}").text
    french = desk.get(f"/orders/{order_id}?lang=fr").text
    assert "€" in english and "\xa0€" in french  # €1,234.50 vs 1 234,50 €


def test_the_quote_document_records_who_viewed_it(desk) -> None:
    login(desk, "viewer")
    quote = desk.get("/orders/SO-000001/quote")
    assert quote.status_code == 200
    assert "Subtotal" in quote.text and "<td class=\"num\">" in quote.text  # the priced lines are there
    detail = desk.get("/orders/SO-000001").text
    assert "document viewed (quote)" in detail and "viewer" in detail


def test_the_desk_cannot_approve_but_an_approver_can(desk) -> None:
    waiting = desk.host.db
    from oms_host.storage.queries import OrderFilter, list_orders

    rows, _ = list_orders(waiting, OrderFilter(status="awaiting_approval"))
    assert rows, "the demo data has discounts awaiting approval"
    order_id = rows[0].order_id
    login(desk, "desk")
    page = desk.get(f"/orders/{order_id}").text
    assert 'id="approve"' not in page
    refused = desk.post(f"/orders/{order_id}/action", data={"action": "approve"})
    assert "You may not do this." in refused.text
    login(desk, "approver")
    approved = desk.post(f"/orders/{order_id}/action", data={"action": "approve", "note": "fine"})
    assert approved.status_code == 200 and 'id="order-status">booked' in approved.text.replace("backordered", "booked")


def test_reports_show_charts_over_the_chosen_period(desk) -> None:
    login(desk, "viewer")
    end = desk.host.clock.now().date()
    page = desk.get("/reports", params={"start": (end - dt.timedelta(days=30)).isoformat(), "end": end.isoformat()})
    assert page.status_code == 200
    assert page.text.count("<svg") == 6 and "<rect" in page.text


def test_a_shipped_order_is_returned_with_a_label_and_every_document_view_is_audited(desk) -> None:
    from oms_host.storage.queries import OrderFilter, list_orders

    shipped, _ = list_orders(desk.host.db, OrderFilter(status="closed", limit=1))
    assert shipped, "the demo data has orders fulfilled to the end"
    order_id = shipped[0].order_id
    login(desk, "desk")
    page = desk.post(f"/orders/{order_id}/action", data={"action": "return", "line_id": "1", "quantity": "1",
                                                        "reason": "defective"})
    assert page.status_code == 200 and "Return label" in page.text and 'id="action-error"' not in page.text
    rma_id = page.text.split("Return label ")[1].split("<")[0].strip()
    assert desk.get(f"/orders/{order_id}/returns/{rma_id}/label").status_code == 200
    invoice = desk.get(f"/orders/{order_id}/invoice")
    assert invoice.status_code == 200 and "Subtotal" in invoice.text and "Payments" in invoice.text
    events = desk.get(f"/orders/{order_id}").text
    assert f"document viewed (return label {rma_id})" in events and "document viewed (invoice)" in events


def test_the_pricing_admin_manages_supply_and_reloads_rulesets_from_the_ui(desk) -> None:
    login(desk, "desk")
    assert "You may not do this." in desk.post("/supply", data={"action": "reload"}).text
    login(desk, "pricing")
    page = desk.get("/supply", params={"item": "lock"})
    assert page.status_code == 200 and "LOCK-U" in page.text and "BOTTLE" not in page.text
    done = desk.post("/supply", data={"action": "set", "item": "LOCK-U", "location": "NL-VE", "on_hand": "999"})
    assert "Done." in done.text and ">999<" in done.text
    assert "Done." in desk.post("/supply", data={"action": "reload"}).text


def test_configurable_skus_come_from_the_catalog(bundle) -> None:
    from oms_host.host import configurable_skus

    assert configurable_skus(bundle) == {"BIKE-TRAIL": "trail-bike"}


def test_a_catalog_naming_a_missing_product_model_fails_at_load() -> None:
    from oms_host.host import configurable_skus
    from oms_host.kinds import all_kinds
    from rule_language import load_rulesets

    catalog = ("kind: product_catalog\nname: c\nversion: 1\n"
               "products:\n  - {sku: KAYAK, name: Kayak, product_model: kayak-v2}\n")
    with pytest.raises(LookupError, match="KAYAK names product model 'kayak-v2'"):
        configurable_skus(load_rulesets([("c.yaml", catalog)], all_kinds()))
