"""The host's browser-facing defences: CSRF on cookie-authenticated changes, security headers, cookies."""

from __future__ import annotations

import asyncio
import json
import os
import re
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, extract_parameters
from fastapi.testclient import TestClient

from oms_host.api import create_app
from oms_host.api.security import CSRF_COOKIE, CSRF_HEADER, SecuritySettings
from oms_host.auth import PASSWORD_HASHING, LoginGuard, LoginLimits, LoginThrottled, Role, Users
from oms_host.host import open_host
from oms_host.storage.schema import users
from order_management import FixedClock
from tests.oms_host.conftest import CUSTOMERS, NOW, RULESETS, SUPPLY

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
OWN = "http://testserver"
EVIL = "https://evil.example"
TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "oms_host" / "web" / "templates"
DRAFT = {"customer_id": "C-100", "currency": "EUR",
         "lines": [{"line_id": "1", "sku": "HELMET-AERO", "quantity": "1"}]}


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    host = open_host(f"sqlite:///{tmp_path_factory.mktemp('security') / 'tarif.sqlite3'}", RULESETS,
                     clock=FixedClock(NOW))
    host.customers.put_many(CUSTOMERS)
    host.put_supply(SUPPLY)
    yield host
    host.close()


def app_for(host, security: SecuritySettings | None = None):
    app = create_app(host, security=security or SecuritySettings())
    users = Users(host.db, hasher=FAST_HASHER)
    users.add("anna", "anna-pw", Role.ORDER_DESK)
    app.state.users = users
    return app


@pytest.fixture
def app(host):
    return app_for(host)


@pytest.fixture
def bearer(app, host) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.state.users.issue_token('shop', Role.ORDER_DESK, host.clock.now())}"}


@pytest.fixture
def browser(app) -> TestClient:
    """A browser logged in as anna through the log-in form; ``browser.token`` is its CSRF token."""
    client = TestClient(app)
    client.get("/login")
    client.token = client.cookies[CSRF_COOKIE]
    response = client.post("/login", data={"username": "anna", "password": "anna-pw", "csrf_token": client.token},
                           headers={"Origin": OWN}, follow_redirects=False)
    assert response.status_code == 303
    return client


def new_order(client: TestClient, bearer: dict[str, str]) -> str:
    response = client.post("/api/orders", json=DRAFT, headers=bearer)
    assert response.status_code == 201, response.text
    return response.json()["order"]["order_id"]


def status_of(client: TestClient, order_id: str, bearer: dict[str, str]) -> str:
    return client.get(f"/api/orders/{order_id}", headers=bearer).json()["order"]["status"]


def order_count(client: TestClient, bearer: dict[str, str]) -> int:
    return client.get("/api/orders", headers=bearer).json()["total"]


# -- CSRF: web forms ----------------------------------------------------------------------------------------
def test_a_foreign_form_without_a_token_cannot_cancel_an_order(browser, bearer) -> None:
    order_id = new_order(browser, bearer)
    refused = browser.post(f"/orders/{order_id}/action", data={"action": "cancel"}, headers={"Origin": EVIL},
                           follow_redirects=False)
    assert refused.status_code == 403
    assert "refused" in refused.text and "evil.example" in refused.text and "Nothing was changed" in refused.text
    assert status_of(browser, order_id, bearer) != "cancelled"


def test_a_form_needs_both_the_token_and_our_origin(browser, bearer) -> None:
    order_id = new_order(browser, bearer)
    for data, headers in [({"action": "cancel", "csrf_token": browser.token}, {"Origin": EVIL}),
                          ({"action": "cancel"}, {"Origin": OWN}),
                          ({"action": "cancel", "csrf_token": "x" * 43}, {"Origin": OWN}),
                          ({"action": "cancel", "csrf_token": browser.token}, {}),  # neither Origin nor Referer
                          ({"action": "cancel", "csrf_token": browser.token}, {"Origin": "null"}),
                          ({"action": "cancel", "csrf_token": browser.token}, {"Referer": EVIL + "/page"})]:
        response = browser.post(f"/orders/{order_id}/action", data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403, (data, headers)
    assert status_of(browser, order_id, bearer) != "cancelled"


def test_our_own_form_with_its_token_still_cancels(browser, bearer) -> None:
    order_id = new_order(browser, bearer)
    done = browser.post(f"/orders/{order_id}/action", data={"action": "cancel", "csrf_token": browser.token},
                        headers={"Origin": OWN}, follow_redirects=False)
    assert done.status_code == 303 and "flash" in done.headers["location"]
    assert status_of(browser, order_id, bearer) == "cancelled"


def test_a_same_origin_referer_stands_in_for_a_missing_origin(browser, bearer) -> None:
    order_id = new_order(browser, bearer)
    done = browser.post(f"/orders/{order_id}/action", data={"action": "hold", "csrf_token": browser.token},
                        headers={"Referer": f"{OWN}/orders/{order_id}"}, follow_redirects=False)
    assert done.status_code == 303 and "flash" in done.headers["location"]


def test_the_log_in_and_log_out_forms_need_the_token_too(app) -> None:
    client = TestClient(app)
    assert client.post("/login", data={"username": "anna", "password": "anna-pw"}, headers={"Origin": OWN},
                       follow_redirects=False).status_code == 403      # no cookie yet: a log-in CSRF is refused
    client.get("/login")
    token = client.cookies[CSRF_COOKIE]
    assert client.post("/login", data={"username": "anna", "password": "anna-pw", "csrf_token": token},
                       headers={"Origin": EVIL}, follow_redirects=False).status_code == 403
    assert client.post("/login", data={"username": "anna", "password": "anna-pw", "csrf_token": token},
                       headers={"Origin": OWN}, follow_redirects=False).status_code == 303
    assert client.post("/logout", headers={"Origin": EVIL}, follow_redirects=False).status_code == 403
    assert client.get("/api/me").status_code == 200                   # still logged in
    assert client.post("/logout", data={"csrf_token": token}, headers={"Origin": OWN},
                       follow_redirects=False).status_code == 303


def test_a_multipart_form_and_an_oversized_form_are_refused_cleanly(browser, bearer) -> None:
    order_id = new_order(browser, bearer)
    multipart = browser.post(f"/orders/{order_id}/action", files={"action": (None, "cancel")},
                             headers={"Origin": OWN}, follow_redirects=False)
    assert multipart.status_code == 403
    garbage = browser.post(f"/orders/{order_id}/action", content=b"--x\r\nnonsense",
                           headers={"Origin": OWN, "Content-Type": "multipart/form-data; boundary=x"})
    assert garbage.status_code == 403
    huge = browser.post(f"/orders/{order_id}/action", data={"action": "cancel", "note": "x" * (2 << 20)},
                        headers={"Origin": OWN}, follow_redirects=False)
    assert huge.status_code == 413
    with_token = browser.post(f"/orders/{order_id}/action", headers={"Origin": OWN}, follow_redirects=False,
                              files={"action": (None, "hold"), "csrf_token": (None, browser.token)})
    assert with_token.status_code == 303
    assert status_of(browser, order_id, bearer) != "cancelled"


def test_every_post_form_of_the_desk_carries_the_token() -> None:
    forms = []
    for template in TEMPLATES.glob("*.html"):
        forms += [(template.name, m) for m in re.findall(r"<form[^>]*>.{0,40}", template.read_text(), re.S)]
    posted = [(name, form) for name, form in forms if 'method="post"' in form]
    assert len(posted) >= 15
    assert all("{{ csrf_field() }}" in form for _, form in posted), [f for f in posted if "csrf" not in f[1]]
    assert not any("csrf" in form for _, form in forms if 'method="get"' in form)  # never a token in a URL


def test_pages_carry_the_token_for_their_scripts(browser) -> None:
    page = browser.get("/orders/new").text
    assert f'<meta name="csrf-token" content="{browser.token}">' in page
    assert f'name="csrf_token" value="{browser.token}"' in page                    # the log-out form


# -- CSRF: the JSON API -------------------------------------------------------------------------------------
def test_a_text_plain_json_body_with_the_session_cookie_creates_nothing(browser, bearer) -> None:
    before = order_count(browser, bearer)
    refused = browser.post("/api/orders", content=json.dumps(DRAFT), headers={"Content-Type": "text/plain"})
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["type"] == "csrf_refused"
    assert {p["path"] for p in error["problems"]} == {"headers.Origin", f"headers.{CSRF_HEADER}",
                                                      "headers.Content-Type"}
    assert order_count(browser, bearer) == before


def test_a_cookie_api_call_needs_the_header_token_and_our_origin(browser, bearer) -> None:
    before = order_count(browser, bearer)
    for headers in [{"Origin": OWN}, {CSRF_HEADER: browser.token, "Origin": EVIL}, {CSRF_HEADER: browser.token},
                    {CSRF_HEADER: "y" * 43, "Origin": OWN}]:
        response = browser.post("/api/orders", json=DRAFT, headers=headers)
        assert response.status_code == 403 and response.json()["error"]["problems"], headers
    assert order_count(browser, bearer) == before
    created = browser.post("/api/orders", json=DRAFT, headers={CSRF_HEADER: browser.token, "Origin": OWN})
    assert created.status_code == 201


def test_a_cookie_api_call_with_its_token_must_still_send_json(browser) -> None:
    headers = {CSRF_HEADER: browser.token, "Origin": OWN}
    plain = browser.post("/api/orders", content=json.dumps(DRAFT), headers={**headers, "Content-Type": "text/plain"})
    assert plain.status_code == 415
    assert plain.json()["error"]["problems"][0]["path"] == "headers.Content-Type"
    untyped = browser.post("/api/quote", content=json.dumps(DRAFT), headers=headers)
    assert untyped.status_code == 415
    assert browser.post("/api/quote", json=DRAFT, headers=headers).status_code == 200


def test_reading_with_the_cookie_needs_no_token(browser) -> None:
    assert browser.get("/api/me").json()["username"] == "anna"
    assert browser.get("/api/orders").status_code == 200


def test_bearer_clients_need_no_csrf_token_but_must_send_json(app, bearer) -> None:
    client = TestClient(app)
    assert client.post("/api/orders", json=DRAFT, headers=bearer).status_code == 201       # no Origin, no token
    plain = client.post("/api/orders", content=json.dumps(DRAFT), headers={**bearer, "Content-Type": "text/plain"})
    assert plain.status_code == 415 and plain.json()["error"]["type"] == "unsupported_media_type"
    csv = client.post("/api/imports", content="nonsense", headers={**bearer, "Content-Type": "text/csv"})
    assert csv.status_code != 415


def test_a_bearer_token_beside_a_session_cookie_is_not_cookie_authenticated(browser, bearer) -> None:
    assert browser.post("/api/orders", json=DRAFT, headers=bearer).status_code == 201


def test_logging_in_over_the_api_without_a_cookie_needs_no_token(app) -> None:
    client = TestClient(app)
    response = client.post("/api/session", json={"username": "anna", "password": "anna-pw"})
    assert response.status_code == 200 and response.json()["token"]


# -- security headers ---------------------------------------------------------------------------------------
def test_every_response_carries_the_security_headers(browser, bearer) -> None:
    order_id = new_order(browser, bearer)
    responses = [browser.get("/orders"), browser.get(f"/orders/{order_id}"), browser.get("/api/me"),
                 browser.get("/static/desk.css"), browser.get("/static/order-entry.js"), browser.get("/nowhere"),
                 browser.get("/api/orders/SO-NOPE"), TestClient(browser.app).get("/orders", follow_redirects=False),
                 browser.post(f"/orders/{order_id}/action", data={"action": "cancel"}, headers={"Origin": EVIL})]
    assert {r.status_code for r in responses} >= {200, 303, 403, 404}
    for response in responses:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["referrer-policy"] == "same-origin"
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy
        assert "unsafe-inline" not in policy and "default-src 'self'" in policy


def test_the_api_docs_get_a_policy_of_their_own(app) -> None:
    docs = TestClient(app).get("/docs")
    assert docs.status_code == 200 and "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


def test_the_desk_templates_have_no_inline_script_style_or_handler() -> None:
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\b(src=|type=\"application/json\"))", text), template.name
        assert not re.search(r"<style|\sstyle=|\son[a-z]+=|javascript:", text), template.name


def test_the_order_entry_page_hands_its_script_data_as_json(browser) -> None:
    page = browser.get("/orders/new").text
    data = json.loads(re.search(r'<script type="application/json" id="tarif-data">(.*?)</script>', page, re.S)[1])
    assert data["user"] == "anna" and data["labels"]["promised"] and "reserved" in data["statuses"]
    assert '<script src="/static/order-entry.js"></script>' in page


# -- cookies ------------------------------------------------------------------------------------------------
def _set_cookies(response) -> dict[str, str]:
    return {c.split("=", 1)[0]: c for c in response.headers.get_list("set-cookie")}


def test_cookies_are_secure_only_when_the_setting_says_so(host) -> None:
    for secure in (False, True):
        client = TestClient(app_for(host, SecuritySettings(secure_cookies=secure)), base_url="https://testserver")
        first = _set_cookies(client.get("/login"))
        token = client.cookies[CSRF_COOKIE]
        logged_in = _set_cookies(client.post("/login", data={"username": "anna", "password": "anna-pw",
                                                              "csrf_token": token},
                                             headers={"Origin": "https://testserver"}, follow_redirects=False))
        api = _set_cookies(client.post("/api/session", json={"username": "anna", "password": "anna-pw"},
                                       headers={"Origin": "https://testserver", CSRF_HEADER: token}))
        for cookie in (first[CSRF_COOKIE], logged_in["tarif_session"], api["tarif_session"]):
            assert ("; secure" in cookie.lower()) is secure, cookie
            assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_the_secure_cookie_setting_comes_from_the_environment_or_the_serve_flag(url_of_sqlite, capsys,
                                                                               monkeypatch) -> None:
    import uvicorn

    from oms_host.cli import main

    assert SecuritySettings.from_env({"TARIF_SECURE_COOKIES": "1"}).secure_cookies
    assert not SecuritySettings.from_env({}).secure_cookies
    assert SecuritySettings.from_env({"TARIF_TRUSTED_ORIGINS": "https://Desk.example.com:443/, http://x:81"}
                                     ).trusted_origins == ("https://desk.example.com", "http://x:81")
    started = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: started.update(kw, app=app))
    monkeypatch.delenv("TARIF_SECURE_COOKIES", raising=False)
    assert main(["serve", "--database", url_of_sqlite, "--rulesets", str(RULESETS), "--maintenance-minutes", "0",
                 "--secure-cookies"]) == 0
    assert started["app"].state.security.secure_cookies
    assert "Secure" in capsys.readouterr().out
    assert main(["serve", "--database", url_of_sqlite, "--rulesets", str(RULESETS), "--maintenance-minutes", "0"]) == 0
    assert not started["app"].state.security.secure_cookies


@pytest.fixture
def url_of_sqlite(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'serve.sqlite3'}"


# -- log-in abuse -------------------------------------------------------------------------------------------
class CountingHasher(PasswordHasher):
    """A fast hasher that counts verifications, the most at once, and can be held inside one."""

    def __init__(self, hold: threading.Event | None = None) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []
        self.running = self.most = 0
        self.hold = hold
        self._lock = threading.Lock()

    def verify(self, hash, password) -> bool:
        with self._lock:
            self.verified.append(hash)
            self.running += 1
            self.most = max(self.most, self.running)
        try:
            if self.hold is not None:
                self.hold.wait(5)
            else:
                time.sleep(0.02)
            return super().verify(hash, password)
        finally:
            with self._lock:
                self.running -= 1


def run_async(make: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    """``asyncio.run(make())`` on a thread of its own (the browser tests' Playwright may hold this thread's loop)."""
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["result"] = asyncio.run(make())
        except BaseException as exc:  # handed back to the test's thread
            box["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["result"]


def users_with(host, limits: LoginLimits, hasher: PasswordHasher | None = None) -> Users:
    users = Users(host.db, hasher=hasher or FAST_HASHER, limits=limits)
    users.add("anna", "anna-pw", Role.ORDER_DESK)
    users.add("olga", "olga-pw", Role.ORDER_DESK)
    return users


def test_failures_are_counted_per_client_address_whatever_the_name(host) -> None:
    users = users_with(host, LoginLimits(per_name=100, per_address=3, global_failures=100))
    for name in ("x1", "x2", "anna"):
        assert users.authenticate(name, "guess", "203.0.113.9") is None
    with pytest.raises(LoginThrottled, match="from your address") as refused:
        users.authenticate("olga", "olga-pw", "203.0.113.9")        # even the right password: no hash at all
    assert 200 < refused.value.retry_after <= 300
    assert users.authenticate("olga", "olga-pw", "198.51.100.7").username == "olga"  # another address is fine
    for _ in range(3):
        assert users.authenticate("x", "guess", "2001:db8::1") is None
    with pytest.raises(LoginThrottled):
        users.authenticate("olga", "olga-pw", "2001:db8::ffff")      # the same IPv6 /64


def test_failures_are_counted_for_the_whole_server(host) -> None:
    users = users_with(host, LoginLimits(per_name=100, per_address=100, global_failures=4))
    for i in range(4):
        assert users.authenticate(f"spray{i}", "guess", f"192.0.2.{i}") is None   # each from its own address
    with pytest.raises(LoginThrottled, match="on this server"):
        users.authenticate("anna", "anna-pw", "192.0.2.200")


def test_failures_are_still_counted_per_name_and_a_success_clears_them(host) -> None:
    users = users_with(host, LoginLimits(per_name=3, per_address=100, global_failures=100))
    for i in range(2):
        assert users.authenticate("anna", "guess", f"192.0.2.{i}") is None
    assert users.authenticate("anna", "anna-pw", "192.0.2.9").username == "anna"   # clears anna's failures
    for i in range(3):
        assert users.authenticate("anna", "guess", f"192.0.2.{i}") is None
    with pytest.raises(LoginThrottled, match="for this name"):
        users.authenticate("anna", "anna-pw", "192.0.2.50")
    for _ in range(50):                                        # successes never count against an address
        assert users.authenticate("olga", "olga-pw", "192.0.2.77") is not None


def test_concurrent_hashes_are_bounded_and_the_rest_wait_then_get_429(host) -> None:
    hasher = CountingHasher()
    users = users_with(host, LoginLimits(concurrent_hashes=2, hash_wait_seconds=5, per_name=100, per_address=100,
                                         global_failures=100), hasher)

    async def flood() -> list[object]:
        return await asyncio.gather(*(users.authenticate_async(f"n{i}", "guess", "192.0.2.1") for i in range(8)),
                                    return_exceptions=True)

    assert run_async(flood) == [None] * 8
    assert hasher.most == 2                                    # never more than two at once; all eight waited

    hold = threading.Event()
    held = users_with(host, LoginLimits(concurrent_hashes=1, hash_wait_seconds=0.2), CountingHasher(hold))
    first = threading.Thread(target=held.authenticate, args=("anna", "anna-pw", "192.0.2.1"))
    first.start()
    while not held.hasher.running:                             # type: ignore[attr-defined]
        time.sleep(0.01)
    started = time.monotonic()
    with pytest.raises(LoginThrottled, match="busy"):
        run_async(lambda: held.authenticate_async("olga", "olga-pw", "192.0.2.2"))
    assert 0.15 < time.monotonic() - started < 2
    hold.set()
    first.join()
    assert run_async(lambda: held.authenticate_async("olga", "olga-pw", "192.0.2.2")).username == "olga"


def test_an_unknown_name_costs_the_same_hash_as_a_known_one(host) -> None:
    hasher = CountingHasher()
    users = users_with(host, LoginLimits(per_name=100, per_address=100, global_failures=100), hasher)
    users.add("gone", "gone-pw", Role.ORDER_DESK)
    users.disable("gone")
    for name, password in [("anna", "anna-pw"), ("anna", "wrong"), ("nobody", "wrong"), ("gone", "gone-pw")]:
        before = len(hasher.verified)
        users.authenticate(name, password, "192.0.2.1")
        assert len(hasher.verified) == before + 1, name        # exactly one verification, whoever it is
    known, unknown = hasher.verified[0], hasher.verified[2]
    assert unknown != known and extract_parameters(unknown) == extract_parameters(known)  # same work: a dummy
    assert hasher.verified[2] == hasher.verified[3]            # one dummy, kept


def test_hashes_run_on_their_own_threads_at_a_lower_priority(host) -> None:
    users = users_with(host, LoginLimits(concurrent_hashes=2, hash_niceness=7))
    seen = users.guard.executor().submit(lambda: (threading.current_thread().name,
                                                  os.getpriority(os.PRIO_PROCESS, threading.get_native_id()))).result()
    assert seen[0].startswith("tarif-hash") and seen[1] >= 7


def test_the_guard_remembers_a_bounded_number_of_names_and_addresses() -> None:
    guard = LoginGuard(LoginLimits(tracked_keys=3, per_name=1, per_address=100, global_failures=1000))
    for i in range(50):
        guard.admit(f"name{i}", f"192.0.2.{i}")
    assert len(guard._names._times) == 3 and len(guard._addresses._times) == 3
    with pytest.raises(LoginThrottled):
        guard.admit("name49", "192.0.2.99")                   # the latest are remembered


def test_a_throttled_log_in_answers_429_with_retry_after_on_the_api_and_the_page(host) -> None:
    app = app_for(host)
    app.state.users = users_with(host, LoginLimits(per_name=2))
    client = TestClient(app)
    for _ in range(2):
        assert client.post("/api/session", json={"username": "anna", "password": "x"}).status_code == 401
    refused = client.post("/api/session", json={"username": "anna", "password": "anna-pw"})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.json()["error"]["type"] == "too_many_attempts"
    client.get("/login")
    page = client.post("/login", data={"username": "anna", "password": "anna-pw",
                                       "csrf_token": client.cookies[CSRF_COOKIE]}, headers={"Origin": OWN})
    assert page.status_code == 429 and 'id="login-throttled"' in page.text and page.headers["retry-after"]


def test_a_password_stored_with_older_parameters_is_rehashed_at_its_next_log_in(host) -> None:
    old = Users(host.db, hasher=PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=2))
    old.add("olga", "olga-pw", Role.ORDER_DESK)
    current = Users(host.db)
    assert current.authenticate("olga", "olga-pw") is not None
    with host.db.read() as connection:
        stored = connection.execute(sa.select(users.c.password_hash).where(users.c.username == "olga")).scalar()
    parameters = extract_parameters(stored)
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (
        PASSWORD_HASHING["memory_cost"], PASSWORD_HASHING["time_cost"], PASSWORD_HASHING["parallelism"])
    assert current.authenticate("olga", "olga-pw") is not None and current.authenticate("olga", "wrong") is None
