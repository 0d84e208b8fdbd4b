"""A page on another origin auto-posts the desk's cancel form while the user is logged in: refused.

The foreign page is served by a second small HTTP server on another port of
127.0.0.1: another origin, but the same site, so the browser does send the
``SameSite=Lax`` session cookie with its post — only the CSRF token and the
origin check stand in the way. The desk's own forms and scripts keep working,
with no Content-Security-Policy violation.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Page, expect

from tests.oms_host.browser.test_desk_journeys import enter_order, log_in


@pytest.fixture
def foreign_site() -> Iterator[tuple[str, dict[str, str]]]:
    """A server on 127.0.0.1 (another port) serving ``pages[path]``; yields its base URL and ``pages``."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "not here").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", pages
    server.shutdown()
    server.server_close()


def test_a_cross_site_form_post_cannot_cancel_an_order_but_the_desk_own_forms_can(
        page: Page, foreign_site, screenshots) -> None:
    violations: list[str] = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    log_in(page, "desk", "desk-demo")                                    # the log-in form carries its token
    order_id = enter_order(page, "C-0003")                               # the order entry script sends it
    expect(page.locator("#order-status")).not_to_have_text(re.compile("cancelled"))

    foreign, pages = foreign_site
    pages["/win-a-bike"] = f"""<!doctype html><title>Win a bike</title>
<form id="f" method="post" action="{page.base}/orders/{order_id}/action">
<input type="hidden" name="action" value="cancel"><input type="hidden" name="note" value="cross-site"></form>
<script>document.getElementById("f").submit()</script>"""
    page.goto(foreign + "/win-a-bike")
    expect(page.locator("#refused")).to_contain_text("not from this site")   # the app's refusal page, 403
    expect(page.locator("#refused")).to_contain_text(foreign)
    page.screenshot(path=str(screenshots / "20-cross-site-post-refused.png"), full_page=True)

    page.goto(f"{page.base}/orders/{order_id}")
    expect(page.locator("#order-status")).not_to_have_text(re.compile("cancelled"))
    expect(page.locator("#history")).not_to_contain_text("cross-site")

    page.fill("#cancel-note", "customer called")                        # the desk's own form still works
    page.click("#cancel")
    expect(page.locator("#order-status")).to_have_text(re.compile("cancelled"))
    expect(page.locator(".flash")).to_be_visible()
    assert violations == []
