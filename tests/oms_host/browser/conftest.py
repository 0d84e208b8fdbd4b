"""A real server and Debian's headless Chromium for the order desk's end-to-end tests.

The app runs under uvicorn in a thread of the test process, on 127.0.0.1 and a
free port, over a seeded SQLite file. Chromium is ``/usr/bin/chromium``
(Debian's ``chromium`` package), driven by Playwright's Python client; without
it the tests are skipped locally and FAIL in CI. Screenshots go to
``TARIF_SCREENSHOTS`` or a temporary folder (printed at the end).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path

import pytest
import uvicorn

from oms_host.api import create_app
from oms_host.auth import Users
from oms_host.demo import ensure_demo_users, seed_demo
from oms_host.host import open_host
from order_management import Address, Customer, Party
from tests.oms_host.conftest import RULESETS

CHROMIUM = Path("/usr/bin/chromium")
_SAVED: list[Path] = []
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("TARIF_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    _SAVED.append(folder)
    return folder


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory):
    """The host app with demo data, served on 127.0.0.1; yields its base URL."""
    url = f"sqlite:///{tmp_path_factory.mktemp('browser-db') / 'tarif.sqlite3'}"
    host = open_host(url, RULESETS)
    ensure_demo_users(Users(host.db))
    seed_demo(host, customers=30, orders_count=40, months=2)
    strapped = Party(name="Strapped SARL", address=Address(country="FR", city="Lyon"))
    host.customers.put(Customer(id="C-HOLD", name="Strapped SARL", credit_limit=Decimal("100"),
                                open_balance=Decimal("90"), bill_to=strapped, ship_to=strapped))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(host), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    host.close()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is absent: install Debian's chromium package (apt-get install -y chromium)"
        if _in_ci():
            pytest.fail(message + " — CI must run the browser tests", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield context
        context.close()


@pytest.fixture
def page(browser, server):
    """A fresh page, logged out (cookies cleared)."""
    browser.clear_cookies()
    page = browser.new_page()
    page.set_default_timeout(15000)
    page.base = server
    yield page
    page.close()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    for folder in _SAVED:
        terminalreporter.write_line(f"browser screenshots: {folder}")
