"""Schemathesis over the whole JSON API, on SQLite and PostgreSQL, as every role.

For each operation of the published OpenAPI description, schemathesis
generates requests that fit the schema and requests that break it; each
example is sent with the bearer token of a role drawn at random (once a role
is refused an operation, the following examples go to the other roles). Every answer
must be no server error, a documented status code and content type, and a
body that matches the documented schema; every 4xx must name where the
problem is (``error.problems[].path``). The examples per operation are
bounded (:data:`EXAMPLES`) and derandomised, so a run is repeatable and takes
a minute or two.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from argon2 import PasswordHasher
from hypothesis import HealthCheck, Phase, given, reject, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from oms_host.api import create_app
from oms_host.api.limits import BodySizeLimit
from oms_host.auth import Role, Users
from oms_host.host import open_host
from tests.oms_host.conftest import CUSTOMERS, RULESETS, SUPPLY

#: Examples per operation and generation mode (positive, negative), per database; more to hunt for bugs.
EXAMPLES = int(os.environ.get("TARIF_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
          negative_data_rejection]
ROLES = list(Role)


@pytest.fixture(scope="module")
def bundle():
    from oms_host.kinds import all_kinds
    from rule_language import load_ruleset_dir

    return load_ruleset_dir(RULESETS, all_kinds())


@pytest.fixture
def app(db, bundle, clock):
    host = open_host(db.url, bundle=bundle, clock=clock, migrate=False)
    host.customers.put_many(CUSTOMERS)
    host.put_supply(SUPPLY)
    application = create_app(host, with_ui=False)
    assert any(m.cls is BodySizeLimit for m in application.user_middleware), "create_app installs the request limits"
    users = Users(host.db, hasher=PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    users.add("anna", "anna-pw", Role.ORDER_DESK)
    application.state.users = users
    application.state.tokens = {role: users.issue_token(f"fuzz-{role.value}", role, clock.now()) for role in ROLES}
    _seed(application)
    return application


def _seed(app) -> None:
    """One booked order, so that ids in generated URLs sometimes hit something."""
    from fastapi.testclient import TestClient

    client = TestClient(app)
    token = app.state.tokens[Role.ORDER_DESK]
    response = client.post("/api/orders", headers={"Authorization": f"Bearer {token}"}, json={
        "customer_id": "C-100", "currency": "EUR",
        "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "2"}]})
    assert response.status_code == 201, response.text


def problems_are_located(response: Any) -> str | None:
    """Why a 4xx answer does not say where its problem is (None: it does)."""
    if not 400 <= response.status_code < 500:
        return None
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"a {response.status_code} without an `error` object: {response.text[:200]}"
    if not error.get("type"):
        return f"a {response.status_code} without an error type"
    if response.status_code in (401, 403):
        return None
    problems = error.get("problems") or []
    if not problems or not all(isinstance(p, dict) and p.get("path") for p in problems):
        return f"a {response.status_code} whose problems name no field path: {error}"
    return None


def _fuzz(operation: Any, app: Any, mode: GenerationMode) -> tuple[int, list[str]]:
    """Run :data:`EXAMPLES` examples of ``operation``: how many were sent, and the failures, one line each."""
    found: list[str] = []
    sent = 0
    forbidden: set[Role] = set()  # roles this operation refused: later examples go to the others

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), role=st.sampled_from(ROLES))
    def run(case: Any, role: Role) -> None:
        nonlocal sent
        if role in forbidden and len(forbidden) < len(ROLES):
            reject()
        sent += 1
        headers = {"Authorization": f"Bearer {app.state.tokens[role]}"}
        try:
            response = case.call(headers=headers)
        except Exception as exc:  # the test client re-raises what the app did not handle: a 500
            found.append(f"{case.method} {case.formatted_path} as {role.value} → {type(exc).__name__}: {exc}"
                         f"\n    reproduce: {case.as_curl_command()[:600]}")
            return
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except AssertionError as exc:  # schemathesis' FailureGroup is an AssertionError
            found.append(_line(case, role, response, str(exc)))
        if response.status_code == 403:
            forbidden.add(role)
        located = problems_are_located(response)
        if located:
            found.append(_line(case, role, response, located))

    try:
        run()
    except Unsatisfiable:  # an operation without parameters or body has no way to break the schema
        if mode is GenerationMode.POSITIVE:
            raise
    return sent, found


def _line(case: Any, role: Role, response: Any, why: str) -> str:
    return (f"{case.method} {case.formatted_path} as {role.value} → {response.status_code}: "
            f"{' '.join(why.split())[:400]}\n    reproduce: {case.as_curl_command()[:600]}")


def _operations(app) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def _each_mode(mode: GenerationMode) -> Callable[[Any], None]:
    def test(app) -> None:
        operations = _operations(app)
        runs = [_fuzz(operation, app, mode) for operation in operations]
        failures = [line for _, found in runs for line in found]
        assert not failures, f"{len(failures)} failure(s):\n" + "\n".join(failures[:40])
        assert sum(sent for sent, _ in runs) >= len(operations) * (EXAMPLES // 2 if mode == "positive" else 1)

    return test


test_requests_that_fit_the_schema_get_documented_answers_and_never_a_server_error = _each_mode(
    GenerationMode.POSITIVE)
test_requests_that_break_the_schema_get_a_located_4xx = _each_mode(GenerationMode.NEGATIVE)
