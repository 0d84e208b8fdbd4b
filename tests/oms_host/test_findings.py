"""Issue #10's findings, each as the behaviour the host now shows over HTTP, on SQLite and PostgreSQL.

One test per finding, named after the behaviour that was wrong before the
order layer moved to commands, one unit of work and the message bus
(407bba4, 435ad98).
World events (shipped, delivered, funds received) come from an integration
user, never from the desk.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from oms_host.api import create_app
from oms_host.auth import Role, Users
from oms_host.host import open_host
from oms_host.kinds import all_kinds
from order_management.fulfilment import GatewayResult
from order_management.fulfilment.returns import unit_refunds
from order_management.promising import SupplyPosition
from rule_language import load_ruleset_dir
from tests.oms_host.conftest import CUSTOMERS, RULESETS, SUPPLY, browser_like, draft, empty

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
USERS = {"anna": Role.ORDER_DESK, "bob": Role.ORDER_DESK, "vera": Role.APPROVER, "paul": Role.PRICING_ADMIN,
         "ivan": Role.INTEGRATION}
GERMAN_SHOP = {"name": "Radlager Berlin", "address": {"country": "DE", "city": "Berlin"}}


@pytest.fixture(scope="module")
def bundle():
    return load_ruleset_dir(RULESETS, all_kinds())


def client_for(db, rulesets, clock, supply=SUPPLY, with_ui=False) -> TestClient:
    """The host app over ``db`` with ``rulesets``; ``client.as_[name]`` are each user's bearer headers."""
    bundle = rulesets if not isinstance(rulesets, Path) else load_ruleset_dir(rulesets, all_kinds())
    host = open_host(db.url, bundle=bundle, clock=clock, migrate=False)
    host.customers.put_many(CUSTOMERS)
    host.put_supply(supply)
    users = Users(host.db, hasher=FAST_HASHER)
    for name, role in USERS.items():
        users.add(name, f"{name}-pw", role)
    app = create_app(host, with_ui=with_ui)
    app.state.users = users
    client = browser_like(TestClient(app))
    client.host = host
    client.as_ = {name: {"Authorization": f"Bearer {users.issue_token(name, role, clock.now())}"}
                  for name, role in USERS.items()}
    return client


@pytest.fixture
def api(db, bundle, clock) -> TestClient:
    return client_for(db, bundle, clock)


def rulesets_copy(tmp_path: Path, edit=None, without: str | None = None) -> Path:
    """The sample rulesets in a folder of their own, with ``edit(folder)`` applied and ``without`` removed."""
    folder = tmp_path / "rulesets"
    shutil.copytree(RULESETS, folder)
    if without:
        for path in folder.glob(without):
            path.unlink()
    if edit:
        edit(folder)
    return folder


def helmets(quantity: int = 3):
    return [{"line_id": "1", "sku": "HELMET-AERO", "quantity": str(quantity)}]


def capture(api, who="anna", **overrides) -> dict:
    response = api.post("/api/orders", json=draft(**overrides), headers=api.as_[who])
    assert response.status_code == 201, response.text
    return response.json()


def started(api, **overrides) -> str:
    """A captured order whose fulfilment has started; its id."""
    order_id = capture(api, **overrides)["order"]["order_id"]
    response = api.post(f"/api/orders/{order_id}/fulfilment", headers=api.as_["anna"])
    assert response.status_code == 200, response.text
    return order_id


def report(api, order_id, *events) -> dict:
    """Events from the world, as the warehouse or carrier sends them; the last fulfilment detail."""
    body = {}
    for event in events:
        response = api.post(f"/api/orders/{order_id}/events", json=event, headers=api.as_["ivan"])
        assert response.status_code == 200, (event, response.text)
        body = response.json()
    return body


PICKED = ({"type": "step_completed", "step": "schedule"}, {"type": "step_completed", "step": "pick"})


def pay_by_card(api, order_id) -> dict:
    payment = api.post(f"/api/orders/{order_id}/payments", json={"method": "card"},
                       headers=api.as_["anna"]).json()["payments"][-1]
    response = api.post(f"/api/payments/{payment['payment_id']}/capture", headers=api.as_["anna"])
    assert response.status_code == 200, response.text
    return response.json()


def order_of(api, order_id) -> dict:
    return api.get(f"/api/orders/{order_id}", headers=api.as_["anna"]).json()["order"]


def fulfilment_of(api, order_id) -> dict:
    return api.get(f"/api/orders/{order_id}/fulfilment", headers=api.as_["anna"]).json()


def supply_of(api, item) -> dict[str, dict]:
    rows = api.get("/api/supply", params={"item": item}, headers=api.as_["anna"]).json()["supply"]
    return {row["position"]["location"]: {"on_hand": row["position"]["on_hand"], "committed": row["committed"]}
            for row in rows}


def line_statuses(order) -> dict[str, str]:
    return {line["line_id"]: line["status"] for line in order["lines"]}


# -- 1 ------------------------------------------------------------------------------------------------------
def test_a_prepaid_multi_line_order_closes_only_when_its_last_line_is_delivered(api) -> None:
    order_id = started(api)
    pay_by_card(api, order_id)
    report(api, order_id, *PICKED, {"type": "shipment_confirmed", "line_id": "1"})
    first = order_of(api, order_id)
    assert first["status"] == "in_fulfilment"
    assert line_statuses(first) == {"1": "shipped", "2": "reserved"}
    last = report(api, order_id, {"type": "shipment_confirmed", "line_id": "2"})
    assert last["stage"] == "completed"
    assert order_of(api, order_id)["status"] != "closed"                   # both on their way
    report(api, order_id, {"type": "delivered"})
    closed = order_of(api, order_id)
    assert closed["status"] == "closed" and line_statuses(closed) == {"1": "delivered", "2": "delivered"}


# -- 2 ------------------------------------------------------------------------------------------------------
def test_cancelling_in_fulfilment_compensates_the_shipment_and_voids_payment_and_a_change_replans(api) -> None:
    order_id = started(api)
    api.post(f"/api/orders/{order_id}/payments", json={"method": "card"}, headers=api.as_["anna"])
    seen = len(report(api, order_id, *PICKED)["audit"])              # the ship steps are active: requests sent
    cancelled = api.post(f"/api/orders/{order_id}/cancel", json={"reason": "customer changed mind"},
                         headers=api.as_["anna"])
    assert cancelled.status_code == 200 and cancelled.json()["order"]["status"] == "cancelled"
    detail = fulfilment_of(api, order_id)
    compensations = {a["entity_id"].rsplit("@", 1)[0] for a in detail["audit"][seen:]
                     if a["action"] == "sent cancel_shipment_request"}
    assert compensations == {f"{order_id}/{track}/ship/cancel_shipment_request" for track in ("T1", "T2")}
    assert detail["stage"] == "cancelled" and all(t["cancelled"] for t in detail["tracks"])
    assert [p["status"] for p in detail["payments"]] == ["voided"]

    changed_id = started(api)
    seen = len(report(api, changed_id, *PICKED)["audit"])
    version = order_of(api, changed_id)["version"]
    more = [draft()["lines"][0], {"line_id": "2", "sku": "HELMET-AERO", "quantity": "3"}]
    revised = api.patch(f"/api/orders/{changed_id}", headers=api.as_["anna"], json={
        "changes": {"lines": more}, "reason": "one more helmet", "expected_version": version})
    assert revised.status_code == 200, revised.text
    detail = fulfilment_of(api, changed_id)
    tracks = {t["line_ids"][0]: {s["step_id"]: s["status"] for s in t["steps"]} for t in detail["tracks"]}
    assert tracks["1"]["ship"] == "active"                                      # untouched line: as it was
    assert tracks["2"]["schedule"] == "active" and tracks["2"]["ship"] == "pending"  # re-planned from schedule
    actions = [(a["entity_id"], a["action"]) for a in detail["audit"][seen:]]
    assert any(e.startswith(f"{changed_id}/T2/ship/") and a == "sent cancel_shipment_request" for e, a in actions)
    assert any(a == "change order: one more helmet" for _, a in actions)


# -- 3 ------------------------------------------------------------------------------------------------------
def test_start_on_a_host_without_fulfilment_shows_an_error_and_does_not_cancel(db, clock, tmp_path) -> None:
    desk = client_for(db, rulesets_copy(tmp_path, without="order/process*.yaml"), clock, with_ui=True)
    assert not desk.host.fulfilment_on
    order = capture(desk)
    order_id = order["order"]["order_id"]
    assert desk.post("/login", data={"username": "anna", "password": "anna-pw"},
                     follow_redirects=False).status_code == 303
    page = desk.post(f"/orders/{order_id}/action", data={"action": "start"})
    assert page.status_code == 200 and "Fulfilment is not configured" in page.text
    after = order_of(desk, order_id)
    assert after["status"] == order["order"]["status"] == "booked"
    assert after["version"] == order["order"]["version"]


# -- 4 ------------------------------------------------------------------------------------------------------
BIG = [{"line_id": "1", "sku": "BIKE-TRAIL", "quantity": "8"}, {"line_id": "2", "sku": "HELMET-AERO", "quantity": "2"}]


def test_a_big_order_is_approved_by_an_approver_and_a_rejection_sends_it_back_to_the_desk(api) -> None:
    approved_id = started(api, lines=BIG)
    assert order_of(api, approved_id)["status"] == "awaiting_approval"
    pending = fulfilment_of(api, approved_id)["approvals"][-1]
    assert pending["role"] == "sales_director" and Decimal(pending["total"]) > Decimal("10000.00")
    approved = api.post(f"/api/orders/{approved_id}/approve", json={"note": "ok"}, headers=api.as_["vera"])
    assert approved.status_code == 200, approved.text
    assert approved.json()["order"]["status"] == "in_fulfilment"
    assert fulfilment_of(api, approved_id)["stage"] == "running"

    rejected_id = started(api, lines=BIG)
    rejected = api.post(f"/api/orders/{rejected_id}/reject", json={"note": "split it"}, headers=api.as_["vera"])
    assert rejected.status_code == 200, rejected.text
    assert rejected.json()["order"]["status"] == "entered"                     # back to the desk, not cancelled
    fewer = [{**BIG[0], "quantity": "7"}, BIG[1]]                               # still over 10,000
    version = rejected.json()["order"]["version"]
    resubmitted = api.patch(f"/api/orders/{rejected_id}", headers=api.as_["anna"], json={
        "changes": {"lines": fewer}, "reason": "one bike less", "expected_version": version})
    assert resubmitted.status_code == 200, resubmitted.text
    assert resubmitted.json()["order"]["status"] == "awaiting_approval"        # a new decision is asked
    assert [a["status"] for a in fulfilment_of(api, rejected_id)["approvals"]] == ["rejected", "pending"]
    again = api.post(f"/api/orders/{rejected_id}/approve", json={}, headers=api.as_["vera"])
    assert again.status_code == 200 and again.json()["order"]["status"] == "in_fulfilment"


# -- 5 ------------------------------------------------------------------------------------------------------
def bank_transfer(api) -> tuple[str, dict]:
    order_id = started(api)
    paid = api.post(f"/api/orders/{order_id}/payments", json={"method": "bank_transfer"}, headers=api.as_["anna"])
    assert paid.status_code == 200, paid.text
    return order_id, paid.json()["payments"][0]


def test_a_bank_transfer_waits_pending_and_the_desk_cannot_record_its_funds(api) -> None:
    _, payment = bank_transfer(api)
    assert payment["status"] == "pending"
    refused = api.post(f"/api/payments/{payment['payment_id']}/funds-received", json={"reference": "bank-1"},
                       headers=api.as_["anna"])
    assert refused.status_code == 403


def test_the_integration_role_records_a_bank_transfers_funds_and_the_payment_is_captured(api) -> None:
    order_id, payment = bank_transfer(api)
    received = api.post(f"/api/payments/{payment['payment_id']}/funds-received", json={"reference": "bank-1"},
                        headers=api.as_["ivan"])
    assert received.status_code == 200, received.text
    assert [p["status"] for p in fulfilment_of(api, order_id)["payments"]] == ["captured"]


# -- 6 ------------------------------------------------------------------------------------------------------
def test_a_received_return_refunds_restocks_good_units_and_an_exchange_keeps_the_delivered_line(api) -> None:
    order_id = started(api, lines=helmets(3))
    pay_by_card(api, order_id)
    report(api, order_id, *PICKED, {"type": "shipment_confirmed"})
    before = supply_of(api, "HELMET-AERO")["FR-LY"]
    authorised = api.post(f"/api/orders/{order_id}/returns", headers=api.as_["anna"], json={
        "lines": [{"line_id": "1", "quantity": "2", "reason": "defective"}]})
    assert authorised.status_code == 200, authorised.text
    rma_id = authorised.json()["returns"][0]["rma_id"]
    received = api.post(f"/api/returns/{rma_id}/receive", headers=api.as_["anna"], json={
        "lines": [{"line_id": "1", "received": "2", "damaged": "1"}]})
    assert received.status_code == 200, received.text
    body = received.json()
    priced = api.get(f"/api/orders/{order_id}", headers=api.as_["anna"]).json()["pricing"]["priced"]
    gross = Decimal(priced["lines"][0]["gross"])
    refund = unit_refunds(gross, "EUR", Decimal(3), Decimal(0), Decimal(2))  # defective: damaged units count too
    assert Decimal(body["returns"][0]["lines"][0]["refund"]) == refund
    assert Decimal(body["payments"][0]["refunded"]) == refund
    assert supply_of(api, "HELMET-AERO")["FR-LY"]["on_hand"] == before["on_hand"] + 1   # the one good unit
    assert order_of(api, order_id)["lines"][0]["returned_quantity"] == "2"

    exchanged_id = started(api, lines=helmets(3))
    report(api, exchanged_id, *PICKED, {"type": "shipment_confirmed"}, {"type": "delivered"})
    rma_id = api.post(f"/api/orders/{exchanged_id}/returns", headers=api.as_["anna"], json={"lines": [
        {"line_id": "1", "quantity": "1", "reason": "no_longer_needed", "resolution": "exchange",
         "exchange_sku": "HELMET-KIDS"}]}).json()["returns"][0]["rma_id"]
    swapped = api.post(f"/api/returns/{rma_id}/receive", headers=api.as_["anna"],
                       json={"lines": [{"line_id": "1", "received": "1"}]})
    assert swapped.status_code == 200, swapped.text
    lines = {line["sku"]: line for line in order_of(api, exchanged_id)["lines"]}
    assert lines["HELMET-AERO"]["status"] == "delivered" and lines["HELMET-AERO"]["returned_quantity"] == "1"
    assert "HELMET-KIDS" in lines


def test_an_exchange_on_a_closed_order_adds_the_new_item_and_reopens_it(api) -> None:
    order_id = started(api, lines=helmets(3))
    report(api, order_id, *PICKED, {"type": "shipment_confirmed"}, {"type": "delivered"})
    pay_by_card(api, order_id)
    assert order_of(api, order_id)["status"] == "closed"
    rma_id = api.post(f"/api/orders/{order_id}/returns", headers=api.as_["anna"], json={"lines": [
        {"line_id": "1", "quantity": "1", "reason": "no_longer_needed", "resolution": "exchange",
         "exchange_sku": "HELMET-KIDS"}]}).json()["returns"][0]["rma_id"]
    swapped = api.post(f"/api/returns/{rma_id}/receive", headers=api.as_["anna"],
                       json={"lines": [{"line_id": "1", "received": "1"}]})
    assert swapped.status_code == 200, swapped.text
    reopened = order_of(api, order_id)
    assert "HELMET-KIDS" in {line["sku"] for line in reopened["lines"]} and reopened["status"] != "closed"


# -- 7 ------------------------------------------------------------------------------------------------------
def test_jeopardy_alerts_are_cleared_when_the_order_closes(api) -> None:
    order_id = started(api, lines=helmets(3))
    report(api, order_id, *PICKED, {"type": "shipment_delayed", "line_id": "1",
                                    "expected_at": "2025-07-25T12:00:00+00:00"})
    scan = api.post("/api/jeopardy/scan", headers=api.as_["anna"]).json()
    assert [a["order_id"] for a in scan["raised"]] == [order_id]
    assert fulfilment_of(api, order_id)["alerts"]
    report(api, order_id, {"type": "shipment_confirmed"}, {"type": "delivered"})
    pay_by_card(api, order_id)
    assert order_of(api, order_id)["status"] == "closed"
    assert fulfilment_of(api, order_id)["alerts"] == []
    assert api.get("/api/orders", params={"flag": "jeopardy"}, headers=api.as_["anna"]).json()["total"] == 0


# -- 8 ------------------------------------------------------------------------------------------------------
THIRTEEN_LOCKS = [SupplyPosition(item="LOCK-U", location="DE-KS", on_hand=13)]
FOURTEEN_LOCKS = [{"line_id": "1", "sku": "LOCK-U", "quantity": "14"}]


def test_a_line_is_promised_as_much_as_the_split_rule_allows(db, clock, bundle, tmp_path) -> None:
    api = client_for(db, bundle, clock, supply=THIRTEEN_LOCKS)
    promise = capture(api, ship_to=GERMAN_SHOP, lines=FOURTEEN_LOCKS)["promises"][0]
    assert promise["status"] == "partial"                    # rule `dach`: parts of at least 2 → 12 + 2
    assert promise["ship_from"] == [["DE-KS", "12"]]
    assert supply_of(api, "LOCK-U")["DE-KS"]["committed"] == 12

    def parts_of_one(folder: Path) -> None:
        sourcing = folder / "order" / "sourcing.yaml"
        text = sourcing.read_text()
        assert "split: {policy: split, min_quantity: 2}" in text
        sourcing.write_text(text.replace("split: {policy: split, min_quantity: 2}",
                                         "split: {policy: split, min_quantity: 1}"))

    empty(db)
    api = client_for(db, rulesets_copy(tmp_path, edit=parts_of_one), clock, supply=THIRTEEN_LOCKS)
    promise = capture(api, ship_to=GERMAN_SHOP, lines=FOURTEEN_LOCKS)["promises"][0]
    assert promise["ship_from"] == [["DE-KS", "13"]]         # parts of at least 1 → 13 + 1
    assert supply_of(api, "LOCK-U")["DE-KS"]["committed"] == 13


# -- 9 ------------------------------------------------------------------------------------------------------
def test_an_order_that_takes_stock_under_its_reorder_point_raises_a_replenishment_request(api) -> None:
    capture(api, lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "2"}])   # FR-LY: 3 on hand, min 10, max 50
    requests = api.get("/api/replenishments", headers=api.as_["anna"]).json()["replenishments"]
    assert [(r["sku"], r["location"], r["status"], r["quantity"]) for r in requests] == [
        ("LOCK-U", "FR-LY", "open", "49")]                                      # up to 50 from the 1 available
    request_id = requests[0]["request_id"]
    assert api.post(f"/api/replenishments/{request_id}/receive", json={},
                    headers=api.as_["anna"]).status_code == 403
    received = api.post(f"/api/replenishments/{request_id}/receive", json={}, headers=api.as_["paul"])
    assert received.status_code == 200 and received.json()["replenishment"]["status"] == "received"
    assert supply_of(api, "LOCK-U")["FR-LY"] == {"on_hand": 3 + 49, "committed": 2}
    still_open = api.get("/api/replenishments", params={"status": "open"}, headers=api.as_["anna"]).json()
    assert still_open["replenishments"] == []


# -- 10 -----------------------------------------------------------------------------------------------------
def test_clients_cannot_set_server_fields_report_world_events_or_overwrite_a_newer_version(api) -> None:
    forged = draft(order_id="SO-999999", version=7, status="closed",
                   lines=[{"line_id": "1", "sku": "HELMET-AERO", "quantity": "2", "shipped_quantity": "2"}])
    refused = api.post("/api/orders", json=forged, headers=api.as_["anna"])
    assert refused.status_code == 422
    problems = {p["path"]: p["message"] for p in refused.json()["error"]["problems"]}
    for path in ("order_id", "version", "status", "lines[0].shipped_quantity"):
        assert problems[path] == "Extra inputs are not permitted"

    order_id = started(api)
    for event in ("payment_captured", "delivered"):
        response = api.post(f"/api/orders/{order_id}/events", json={"type": event}, headers=api.as_["anna"])
        assert response.status_code == 403
    assert line_statuses(order_of(api, order_id)) == {"1": "reserved", "2": "reserved"}

    order_id = capture(api)["order"]["order_id"]
    bottles = [*draft()["lines"], {"line_id": "3", "sku": "BOTTLE", "quantity": "4"}]
    first = api.patch(f"/api/orders/{order_id}", headers=api.as_["bob"], json={
        "changes": {"lines": bottles}, "reason": "bottles too", "expected_version": 1})
    assert first.status_code == 200, first.text
    stale = api.patch(f"/api/orders/{order_id}", headers=api.as_["anna"], json={
        "changes": {"notes": "leave at the door"}, "reason": "customer call", "expected_version": 1})
    assert stale.status_code == 409 and stale.json()["error"]["type"] == "concurrent_update"
    assert any("token:bob" in change and "BOTTLE" in change for change in stale.json()["changes"])
    kept = order_of(api, order_id)
    assert [line["sku"] for line in kept["lines"]] == ["BIKE-TRAIL", "HELMET-AERO", "BOTTLE"]
    assert kept["notes"] is None and kept["version"] == 2


# -- 11 -----------------------------------------------------------------------------------------------------
def test_a_cancel_whose_void_is_declined_changes_nothing(api, monkeypatch) -> None:
    order_id = started(api, lines=helmets(2))
    api.post(f"/api/orders/{order_id}/payments", json={"method": "card"}, headers=api.as_["anna"])
    before = fulfilment_of(api, order_id)
    version = order_of(api, order_id)["version"]
    reserved = supply_of(api, "HELMET-AERO")["FR-LY"]["committed"]
    assert reserved == 2

    def declined(reference: str, key: str) -> GatewayResult:
        return GatewayResult(False, reference, "processor_unavailable", "the processor is down")

    monkeypatch.setattr(api.host.deps.gateway, "void", declined)
    response = api.post(f"/api/orders/{order_id}/cancel", json={"reason": "duplicate"}, headers=api.as_["anna"])
    assert 400 <= response.status_code < 500 and response.json()["error"]["type"] == "payment_declined"
    after = fulfilment_of(api, order_id)
    order = order_of(api, order_id)
    assert order["status"] == "in_fulfilment" and order["version"] == version
    assert [p["status"] for p in after["payments"]] == ["authorised"]
    assert supply_of(api, "HELMET-AERO")["FR-LY"]["committed"] == reserved
    assert after["audit"] == before["audit"] and after["tracks"] == before["tracks"]


# -- 12 -----------------------------------------------------------------------------------------------------
def test_an_order_with_several_problems_gets_all_of_them_at_once(api) -> None:
    bike = {"line_id": "1", "kind": "configured", "sku": "BIKE-TRAIL", "product_model": "trail-bike",
            "quantity": "1", "options": {"frame_size": "L", "colour": "red"}}
    bottles = {"line_id": "2", "sku": "BOTTLE", "quantity": "1200"}
    response = api.post("/api/orders", json=draft(customer_id="C-400", lines=[bike, bottles]),
                        headers=api.as_["anna"])
    assert response.status_code == 422
    problems = {p["path"]: p["message"] for p in response.json()["error"]["problems"]}
    assert "color" in problems["lines[0].options.colour"]         # the unknown option, with a suggestion
    assert "1,000" in problems["lines[1].quantity"]               # the order rules' per-line limit
    assert "blocked" in problems["customer_id"]


def test_an_unpriceable_sku_is_reported_at_its_field_and_never_as_nonetype(api) -> None:
    unknown = [{"line_id": "1", "sku": "NOPE-1", "quantity": "1"}, {"line_id": "2", "sku": "BOTTLE", "quantity": "20"}]
    response = api.post("/api/orders", json=draft(lines=unknown), headers=api.as_["anna"])
    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert any(p["path"] == "lines[0].sku" and "NOPE-1" in p["message"] for p in problems)
    assert not any("NoneType" in p["message"] for p in problems), problems


# -- found while writing these (fixed in src meanwhile) -------------------------------------------------------
def test_a_delivery_reported_after_a_prepaid_line_shipped_marks_the_line_delivered(api) -> None:
    order_id = started(api, lines=helmets(3))
    pay_by_card(api, order_id)
    report(api, order_id, *PICKED, {"type": "shipment_confirmed"})
    delivered = api.post(f"/api/orders/{order_id}/events", json={"type": "delivered", "line_id": "1"},
                         headers=api.as_["ivan"])
    assert delivered.status_code == 200, delivered.text
    assert line_statuses(order_of(api, order_id)) == {"1": "delivered"}


def test_a_delivery_reported_for_a_finished_line_while_another_line_ships_marks_it_delivered(api) -> None:
    order_id = started(api)
    pay_by_card(api, order_id)
    report(api, order_id, *PICKED, {"type": "shipment_confirmed", "line_id": "1"})
    delivered = api.post(f"/api/orders/{order_id}/events", json={"type": "delivered", "line_id": "1"},
                         headers=api.as_["ivan"])
    assert delivered.status_code == 200, delivered.text
    assert line_statuses(order_of(api, order_id)) == {"1": "delivered", "2": "reserved"}


def test_the_pricing_admin_sees_and_receives_replenishment_requests_on_the_supply_page(db, bundle, clock) -> None:
    web = client_for(db, bundle, clock, with_ui=True)
    capture(web, lines=[{"line_id": "1", "sku": "LOCK-U", "quantity": "2"}])
    [request] = web.get("/api/replenishments", headers=web.as_["anna"]).json()["replenishments"]
    assert web.post("/login", data={"username": "paul", "password": "paul-pw"},
                    follow_redirects=False).status_code == 303
    page = web.get("/supply")
    assert request["request_id"] in page.text and f'id="receive-{request["request_id"]}"' in page.text
    bad = web.post("/supply", data={"action": "receive_replenishment", "request_id": request["request_id"],
                                    "quantity": "-3"})
    assert "quantity" in bad.text and supply_of(web, "LOCK-U")["FR-LY"]["on_hand"] == 3
    done = web.post("/supply", data={"action": "receive_replenishment", "request_id": request["request_id"],
                                     "quantity": "40"})
    assert done.status_code == 200 and supply_of(web, "LOCK-U")["FR-LY"]["on_hand"] == 43
    assert f'id="receive-{request["request_id"]}"' not in web.get("/supply").text


def test_a_host_refuses_to_start_with_an_approval_rule_no_user_can_give(db, clock, tmp_path) -> None:
    def ask_the_board(folder: Path) -> None:
        events = folder / "order" / "events.yaml"
        events.write_text(events.read_text(encoding="utf-8").replace("role: sales_director", "role: board"),
                          encoding="utf-8")

    with pytest.raises(ValueError, match="'board', a role no host user acts in"):
        open_host(db.url, rulesets_copy(tmp_path, edit=ask_the_board), clock=clock, migrate=False)
