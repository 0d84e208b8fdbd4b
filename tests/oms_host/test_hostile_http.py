"""Hostile requests (``tests/hostile/http/*.json``) replayed against the API on SQLite and PostgreSQL.

Each gets its 4xx within a second, naming the field at fault, grows the
process's memory (as traced by tracemalloc) by less than 200 MB, and leaves
every order, reservation, audit and fulfilment row as it was. The corpus's
README says how a case is written.
"""

from __future__ import annotations

import base64
import json
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from oms_host.api import create_app
from oms_host.api.limits import BodySizeLimit
from oms_host.auth import Role, Users
from oms_host.host import open_host
from oms_host.storage.schema import (
    audit_events,
    fulfilment_processes,
    fulfilment_records,
    order_events,
    order_lines,
    order_revisions,
    orders,
    promise_reservations,
    supply,
    supply_commitments,
)
from order_management import FixedClock
from tests.oms_host.conftest import CUSTOMERS, NOW, RULESETS, SUPPLY, empty

CORPUS = Path(__file__).resolve().parents[1] / "hostile" / "http"
CASES = sorted(CORPUS.glob("*.json"))
WATCHED = (orders, order_lines, order_revisions, order_events, promise_reservations, supply_commitments, supply,
           audit_events, fulfilment_processes, fulfilment_records)
SECONDS = 1.0
MEGABYTES = 200


@pytest.fixture(scope="module")
def api(migrated) -> Iterator[TestClient]:
    """One app per database over a booked order; the cases must not change it."""
    from oms_host.kinds import all_kinds
    from rule_language import load_ruleset_dir

    empty(migrated)
    clock = FixedClock(NOW)
    host = open_host(migrated.url, bundle=load_ruleset_dir(RULESETS, all_kinds()), clock=clock, migrate=False)
    host.customers.put_many(CUSTOMERS)
    host.put_supply(SUPPLY)
    app = create_app(host, with_ui=False)
    assert any(m.cls is BodySizeLimit for m in app.user_middleware), "create_app installs the request limits"
    users = Users(host.db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    app.state.users = users
    client = TestClient(app, raise_server_exceptions=False)
    client.tokens = {role.value: users.issue_token(f"hostile-{role.value}", role, clock.now()) for role in Role}
    booked = client.post("/api/orders", headers=_bearer(client, "order_desk"), json={
        "customer_id": "C-100", "currency": "EUR", "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "2"}]})
    assert booked.status_code == 201, booked.text
    client.order_id = booked.json()["order"]["order_id"]
    client.host = host
    yield client
    client.close()


def _bearer(client: TestClient, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {client.tokens[role]}"}


def _order(lines: int = 1, **extra: Any) -> dict[str, Any]:
    return {"customer_id": "C-100", "currency": "EUR",
            "lines": [{"line_id": str(i + 1), "sku": "HELMET-AERO", "quantity": "1"} for i in range(lines)], **extra}


def generate(spec: dict[str, Any]) -> bytes:
    """The body a case's ``generate`` spec describes (see the corpus's README)."""
    kind = spec["kind"]
    if kind == "nested":
        return b"[" * spec["depth"] + b"]" * spec["depth"]
    if kind == "order" and "text_field" in spec:
        head = json.dumps(_order())[:-1].encode()
        return head + f', "{spec["text_field"]}": "'.encode() + b"x" * spec["characters"] + b'"}'
    if kind == "order" and "quantity_digits" in spec:
        return (b'{"customer_id": "C-100", "currency": "EUR", "lines": [{"line_id": "1", "sku": "HELMET-AERO", '
                b'"quantity": ' + b"9" * spec["quantity_digits"] + b"}]}")
    if kind == "order" and "options" in spec:
        order = _order()
        order["lines"][0].update(kind="configured", product_model="bike",
                                 options={f"option{i}": "x" for i in range(spec["options"])})
        return json.dumps(order).encode()
    if kind == "order":
        return json.dumps(_order(spec["lines"])).encode()
    if kind == "revision":
        return json.dumps({"changes": {"lines": _order(spec["lines"])["lines"]}, "reason": "more",
                           "expected_version": 1}).encode()
    if kind == "object":
        return json.dumps({spec["field"]: "x" * spec["characters"]}).encode()
    if kind == "import":
        return json.dumps({"orders": [_order(source_system="shop", external_ref=f"R{i}")
                                      for i in range(spec["orders"])]}).encode()
    if kind == "csv":
        return ("source_system,external_ref,customer_id,currency,line_id,sku,quantity,notes\n"
                f"shop,R1,C-100,EUR,1,HELMET-AERO,2,{'x' * spec['field_characters']}\n").encode()
    raise ValueError(f"unknown generator {kind!r}")


def body_of(case: dict[str, Any]) -> tuple[bytes | None, dict[str, str]]:
    headers = dict(case.get("headers", {}))
    if "json" in case:
        return json.dumps(case["json"]).encode(), {"content-type": "application/json", **headers}
    if "raw" in case:
        return case["raw"].encode(), headers
    if "raw_base64" in case:
        return base64.b64decode(case["raw_base64"]), headers
    if "generate" in case:
        return generate(case["generate"]), {"content-type": "application/json", **headers}
    return None, headers


def row_counts(client: TestClient) -> dict[str, int]:
    with client.host.db.read() as connection:
        return {table.name: connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                for table in WATCHED}


def _chunks(body: bytes) -> Iterator[bytes]:
    for start in range(0, len(body), 1 << 20):
        yield body[start:start + (1 << 20)]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_a_hostile_request_gets_a_located_4xx_quickly_and_changes_nothing(api: TestClient, path: Path) -> None:
    case = json.loads(path.read_text())
    body, headers = body_of(case)
    url = case["path"].replace("{order_id}", api.order_id)
    before = row_counts(api)
    content: Any = _chunks(body) if body is not None and case.get("chunked") else body
    tracemalloc.start()
    try:
        started = time.perf_counter()
        response = api.request(case["method"], url, params=case.get("query"), content=content,
                               headers={**_bearer(api, case["role"]), **headers})
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    expected = case["expect"]
    assert response.status_code == expected["status"], f"{case['why']}: {response.status_code} {response.text[:500]}"
    problems = response.json()["error"]["problems"]
    assert expected["path"] in [p["path"] for p in problems], problems
    assert elapsed < SECONDS, f"{case['why']}: answered in {elapsed:.2f} s"
    assert peak < MEGABYTES * 2**20, f"{case['why']}: {peak / 2**20:.0f} MB allocated"
    assert row_counts(api) == before
