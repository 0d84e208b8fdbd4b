"""The order desk in a real browser: configure and order, approve a discount, release a hold, reports, phone."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def log_in(page: Page, username: str, password: str) -> None:
    page.goto(page.base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/orders$"))


def enter_order(page: Page, customer: str, discount: str | None = None) -> str:
    page.goto(page.base + "/orders/new")
    page.select_option("#customer", customer)
    if discount:
        page.fill("#discount", discount)
    expect(page.locator("#total")).not_to_have_text("—")
    page.click("#submit-order")
    expect(page).to_have_url(re.compile(r"/orders/SO-\d+"))
    return page.url.rsplit("/", 1)[-1].split("?")[0]


def test_configure_price_and_order_a_bike_then_find_it_in_the_list_and_reports(page: Page, screenshots) -> None:
    log_in(page, "desk", "desk-demo")
    page.goto(page.base + "/orders/new")
    page.select_option("#customer", "C-0001")
    row = page.locator(".line-row").first
    motor = row.locator('select[data-var="motor"]')
    expect(motor).to_be_visible()                              # the trail bike is configurable
    expect(page.locator("#total")).not_to_have_text("—")
    before = page.locator("#total").inner_text()
    motor.select_option("true")
    battery = row.locator('select[data-var="battery_wh"]')
    expect(battery.locator("option")).to_have_count(4)         # only the possible sizes: 375 to 750 Wh
    expect(page.locator("#total")).not_to_have_text(before)   # the live price follows the configuration
    row.locator(".why-not summary").click()                    # an S frame is not possible with the motor ...
    fix = row.locator('.fix[data-var="frame_size"][data-value="S"]')
    expect(fix).to_contain_text("motor = true")
    expect(row.locator(".why-not")).to_contain_text("no room for the mid-drive motor")
    page.screenshot(path=str(screenshots / "00-configurator-conflict.png"), full_page=True)
    fix.click()                                                # ... and one click takes the motor off
    expect(row.locator('select[data-var="frame_size"]')).to_have_value("S")
    expect(row.locator('select[data-var="motor"]')).to_have_value("false")
    row.locator('select[data-var="frame_size"]').select_option("L")
    row.locator('select[data-var="motor"]').select_option("true")
    expect(battery).to_be_visible()
    row.locator(".qty").fill("2")
    expect(page.locator("#price-lines")).to_contain_text("× 2")      # the live price follows the quantity
    page.locator("#price-lines details summary").first.click()
    expect(page.locator("#price-lines .waterfall table").first).to_contain_text("mid-drive e-motor")
    expect(row.locator(".promise")).to_contain_text(re.compile(r"(DE-KS|FR-LY|NL-VE)"))
    page.screenshot(path=str(screenshots / "01-order-entry.png"), full_page=True)
    page.click("#submit-order")
    expect(page).to_have_url(re.compile(r"/orders/SO-\d+"))
    order_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    expect(page.locator("#order-status")).to_have_text(re.compile("booked|backordered"))
    expect(page.locator("#history")).to_contain_text("desk")
    page.click("#start-fulfilment")                            # the fulfilment timeline: planned vs actual
    expect(page.locator("#timeline")).to_contain_text("schedule")
    expect(page.locator("#events")).to_contain_text("captured")
    page.screenshot(path=str(screenshots / "02-order-detail.png"), full_page=True)
    page.goto(page.base + "/orders")
    expect(page.locator("#order-list")).to_contain_text(order_id)
    page.goto(page.base + "/reports")
    expect(page.locator("#chart-products")).to_contain_text("BIKE-TRAIL")
    assert page.locator("#chart-days rect").count() > 10
    page.screenshot(path=str(screenshots / "03-reports.png"), full_page=True)


def test_a_discount_is_approved_by_an_approver_not_by_the_desk(page: Page, screenshots) -> None:
    log_in(page, "desk", "desk-demo")
    order_id = enter_order(page, "C-0002", discount="15")
    expect(page.locator("#order-status")).to_have_text(re.compile("awaiting approval"))
    expect(page.locator("#approve")).to_have_count(0)          # the desk sees no approve button
    page.click("form[method=post] >> text=Log out")
    log_in(page, "approver", "approver-demo")
    page.goto(page.base + "/exceptions")
    expect(page.locator("#approvals")).to_contain_text(order_id)
    page.goto(page.base + f"/orders/{order_id}")
    page.fill("#approve-note", "competitor price checked")
    page.click("#approve")
    expect(page.locator("#order-status")).to_have_text(re.compile("booked|backordered"))
    expect(page.locator("#events")).to_contain_text("approved")
    page.screenshot(path=str(screenshots / "04-approved.png"), full_page=True)


def test_an_approver_releases_a_credit_hold(page: Page, screenshots) -> None:
    log_in(page, "desk", "desk-demo")
    order_id = enter_order(page, "C-HOLD")
    expect(page.locator("#order-status")).to_have_text(re.compile("on hold"))
    page.click("form[method=post] >> text=Log out")
    log_in(page, "approver", "approver-demo")
    page.goto(page.base + "/orders?flag=hold")
    page.click(f"text={order_id}")
    page.fill("#release-note", "prepayment received")
    page.click("#release")
    expect(page.locator("#order-status")).to_have_text(re.compile("booked|backordered"))
    page.screenshot(path=str(screenshots / "05-hold-released.png"), full_page=True)


def test_an_order_is_looked_up_on_a_phone_in_french(page: Page, screenshots) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "viewer", "viewer-demo")
    page.goto(page.base + "/orders?lang=fr")
    expect(page.locator("header")).to_contain_text("Commandes")
    page.fill("#q", "SO-000003")
    page.click("form.filters button")
    expect(page.locator("#order-list")).to_contain_text("SO-000003")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400   # no sideways scrolling
    page.screenshot(path=str(screenshots / "06-phone-lookup.png"), full_page=True)
    page.click("text=SO-000003")
    expect(page.locator("h1")).to_contain_text("SO-000003")
    expect(page.locator("body")).to_contain_text("€")
    page.goto(page.base + "/customers")
    expect(page.locator("#customer-list")).to_be_visible()
    page.screenshot(path=str(screenshots / "07-phone-customers.png"), full_page=True)


def test_a_quick_order_from_the_customer_list_on_a_phone(page: Page, screenshots) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, "desk", "desk-demo")
    page.goto(page.base + "/customers?q=C-0003")
    page.click("#customer-list >> text=Quick order")
    expect(page.locator("#customer")).to_have_value("C-0003")
    row = page.locator(".line-row").first
    row.locator(".sku").select_option("LOCK-U")
    row.locator(".qty").fill("2")
    expect(page.locator("#total")).not_to_have_text("—")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.screenshot(path=str(screenshots / "08-phone-quick-order.png"), full_page=True)
    page.click("#submit-order")
    expect(page).to_have_url(re.compile(r"/orders/SO-\d+"))
    expect(page.locator("h1")).to_contain_text("SO-")
