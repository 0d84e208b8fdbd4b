"""Pages of the order desk: login, order list, entry, detail, exceptions, reports, customers, documents."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pydantic
from fastapi import APIRouter, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from oms_host.api.fulfilment import fulfilment_detail, open_alerts
from oms_host.api.routes import categories
from oms_host.api.security import CSRF_FIELD, SESSION_COOKIE, client_address, optional_user, set_cookie
from oms_host.api.serialise import record_detail
from oms_host.auth import APPROVAL_ROLES, Action, LoginThrottled, User
from oms_host.configure import Configurators
from oms_host.host import Host
from oms_host.storage.queries import Dimension, OrderFilter, exceptions, list_orders, report
from order_management import LineInput, OrderError, OrderNotFoundError, OrderStatus
from order_management import commands as cmd
from order_management.fulfilment import FulfilmentError, PaymentMethod, ReturnReason
from order_management.handlers import problems_from_pydantic

from .i18n import LANGUAGES, Translator

__all__ = ["install_ui"]

_HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(_HERE / "templates"))
router = APIRouter(include_in_schema=False)
LANG_COOKIE = "tarif_lang"


@pass_context
def csrf_token(context: Any) -> str:
    """This browser's CSRF token (set by :class:`oms_host.api.security.BrowserDefences`)."""
    token = getattr(context["request"].state, "csrf_token", None)
    if not token:
        raise RuntimeError("the page needs the CSRF middleware: build the app with oms_host.api.create_app "
                           "or call oms_host.api.security.install_browser_defences")
    return str(token)


@pass_context
def csrf_field(context: Any) -> Markup:
    """The hidden field every POST form of the desk carries (``{{ csrf_field() }}``)."""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, csrf_token(context))


templates.env.globals.update(csrf_token=csrf_token, csrf_field=csrf_field)

class LoginRequired(Exception):
    """The page needs a logged-in user: the handler redirects to the login page."""


def _host(request: Request) -> Host:
    return request.app.state.host


def _translator(request: Request, user: User | None) -> Translator:
    language = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or (
        user.locale if user else None) or request.headers.get("accept-language", "en")[:2]
    return Translator(language)


def _user(request: Request, action: Action = Action.VIEW) -> User:
    user = optional_user(request)
    if user is None:
        raise LoginRequired
    return user


def _page(request: Request, name: str, user: User | None, status: int = 200, **context: Any) -> HTMLResponse:
    t = _translator(request, user)
    response = templates.TemplateResponse(request, name, {
        "user": user, "t": t, "_": t, "languages": LANGUAGES, "Action": Action,
        "flash": request.query_params.get("flash"), **context}, status_code=status)
    if request.query_params.get("lang") in LANGUAGES:
        set_cookie(response, request, LANG_COOKIE, request.query_params["lang"])
    return response


def _catalog(host: Host) -> dict[str, Any]:
    products = {}
    for ruleset in host.bundle.of_kind("product_catalog"):
        for sku, product in ruleset.artefact.products.items():
            products[sku] = product
    return products


# -- login --------------------------------------------------------------------------------------------------
@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    return _page(request, "login.html", None)


@router.post("/login")
async def login(request: Request, username: str = Form(...), password: str = Form(...)) -> Response:
    host = _host(request)
    users = request.app.state.users
    try:
        user = await users.authenticate_async(username, password, client_address(request))
    except LoginThrottled as exc:
        t = _translator(request, None)
        refused = _page(request, "login.html", None, status=429, username=username,
                        error_text=t("Too many log-in attempts; try again in a few minutes."))
        refused.headers["Retry-After"] = str(math.ceil(exc.retry_after))
        return refused
    if user is None:
        return _page(request, "login.html", None, status=401, error=True, username=username)
    response = RedirectResponse("/orders", status_code=303)
    set_cookie(response, request, SESSION_COOKIE, await run_in_threadpool(users.open_session, user, host.clock.now()))
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request.app.state.users.close_session(token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/orders", status_code=303)


# -- orders -------------------------------------------------------------------------------------------------
@router.get("/orders")
def orders_page(request: Request, q: str = "", status: str = "", channel: str = "", flag: str = "",
                customer_id: str = "", page: int = 1) -> HTMLResponse:
    user = _user(request)
    host = _host(request)
    size = 25
    page = max(page, 1)
    rows, total = list_orders(host.db, OrderFilter(status or None, customer_id or None, channel or None, q or None,
                                                   flag or None, limit=size, offset=(page - 1) * size))
    filters = {"q": q, "status": status, "channel": channel, "flag": flag, "customer_id": customer_id}
    query = {k: v for k, v in filters.items() if v}
    return _page(request, "orders.html", user, rows=rows, total=total, page=page, pages=max(1, -(-total // size)),
                 filters=filters, statuses=[s.value for s in OrderStatus],
                 channels=["web", "store", "call_centre", "marketplace", "edi"],
                 page_url=lambda p: "/orders?" + urlencode({**query, "page": p}))


@router.get("/orders/new")
def new_order_page(request: Request, customer_id: str = "") -> HTMLResponse:
    user = _user(request)
    host = _host(request)
    customer = None
    if customer_id:
        try:
            customer = host.customers.get(customer_id)
        except LookupError:
            customer = None
    products = _catalog(host)
    return _page(request, "order_new.html", user, customer=customer, customers=host.customers.search("", limit=400),
                 products=sorted(products.values(), key=lambda p: p.sku),
                 today=host.clock.now().date().isoformat(), configurable=host.configurable)


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: str) -> HTMLResponse:
    user = _user(request)
    host = _host(request)
    try:
        record = host.order(order_id)
    except OrderNotFoundError:
        return _page(request, "message.html", user, status=404, message=f"{order_id}: not found")
    detail = record_detail(record, host.events.for_order(order_id))
    customer = None
    with contextlib.suppress(LookupError):
        customer = host.customers.get(record.order.customer_id)
    fulfilment = fulfilment_detail(host, order_id) if host.fulfilment_on else None
    return _page(request, "order_detail.html", user, d=detail, order=record.order, customer=customer,
                 error=request.query_params.get("error"), f=fulfilment, reasons=[r.value for r in ReturnReason],
                 methods=[m.value for m in PaymentMethod], fulfilment_on=host.fulfilment_on,
                 edit_lines=json.dumps([line.model_dump(mode="json", include=_LINE_INPUT)
                                        for line in record.order.lines]))


_LINE_INPUT = set(LineInput.model_fields)  # what the edit form sends back of each line

_NEEDS = {"approve": Action.APPROVE, "reject": Action.APPROVE, "release": Action.APPROVE,
          "cancel": Action.CAPTURE, "start": Action.CAPTURE, "hold": Action.CAPTURE, "return": Action.CAPTURE,
          "receive_return": Action.CAPTURE, "pay": Action.CAPTURE, "capture_payment": Action.CAPTURE,
          "edit_line": Action.CAPTURE, "refund": Action.APPROVE}


def _desk_command(action: str, order_id: str, user: Any, form: dict[str, str]) -> cmd.Command:
    """The command a form on the order page stands for; every field is checked by the command's schema."""
    note, actor = form.get("note", ""), user.actor
    roles = APPROVAL_ROLES[user.role]
    builders: dict[str, Any] = {
        "approve": lambda: cmd.ApproveOrder(actor=actor, order_id=order_id, roles=roles, note=note),
        "reject": lambda: cmd.RejectOrder(actor=actor, order_id=order_id, roles=roles, reason=note or "rejected"),
        "release": lambda: cmd.ReleaseHold(actor=actor, order_id=order_id, note=note),
        "start": lambda: cmd.StartFulfilment(actor=actor, order_id=order_id),
        "hold": lambda: cmd.PlaceHold(actor=actor, order_id=order_id, reason=note or "held at the desk"),
        "cancel": lambda: cmd.CancelOrder(actor=actor, order_id=order_id, reason=note or "cancelled at the desk",
                                          expected_version=int(form["version"]) if form.get("version") else None),
        "return": lambda: cmd.AuthoriseReturn(actor=actor, order_id=order_id, lines=(cmd.ReturnLineRequest(
            line_id=form.get("line_id", ""), quantity=Decimal(form.get("quantity") or "1"),
            reason=form.get("reason") or "other"),)),
        "receive_return": lambda: cmd.ReceiveReturn(actor=actor, rma_id=form.get("rma_id", ""), lines=(
            cmd.ReceivedLine(line_id=form.get("line_id", ""), received=Decimal(form.get("received") or "0"),
                             damaged=Decimal(form.get("damaged") or "0")),)),
        "pay": lambda: cmd.AuthorisePayment(actor=actor, order_id=order_id, method=form.get("method") or "card"),
        "capture_payment": lambda: cmd.CapturePayment(actor=actor, payment_id=form.get("payment_id", "")),
        "refund": lambda: cmd.RefundPayment(actor=actor, payment_id=form.get("payment_id", ""),
                                            amount=Decimal(form.get("amount") or "0"), reason=note or "refund"),
        "edit_line": lambda: _edit_line(actor, order_id, form),
    }
    return builders[action]()


def _edit_line(actor: str, order_id: str, form: dict[str, str]) -> cmd.ReviseOrder:
    """Change one line's quantity (or remove it at 0), against the version the page showed."""
    lines = json.loads(form.get("lines") or "[]")
    target, quantity = form.get("line_id", ""), form.get("quantity") or ""
    new_lines = [{**line, "quantity": quantity} if line["line_id"] == target else line for line in lines
                 if not (line["line_id"] == target and quantity in ("0", "0.0"))]
    return cmd.ReviseOrder(actor=actor, order_id=order_id, expected_version=int(form.get("version") or 0),
                           changes={"lines": new_lines}, reason=form.get("note") or "changed at the desk")


@router.post("/orders/{order_id}/action")
async def order_action(request: Request, order_id: str) -> Response:
    user = _user(request)
    host = _host(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    action = form.get("action", "")
    t = _translator(request, user)
    needed = _NEEDS.get(action)
    if needed is None or not user.can(needed):
        return RedirectResponse(f"/orders/{order_id}?" + urlencode({"error": t("You may not do this.")}), 303)
    if action == "start" and not host.fulfilment_on:
        return RedirectResponse(f"/orders/{order_id}?" + urlencode(
            {"error": t("Fulfilment is not configured: the rulesets have no process.")}), 303)
    try:
        command = _desk_command(action, order_id, user, form)
        await run_in_threadpool(host.bus.handle, command)
    except pydantic.ValidationError as exc:
        text = "; ".join(str(p) for p in problems_from_pydantic(exc))
        return RedirectResponse(f"/orders/{order_id}?" + urlencode({"error": text}), 303)
    except (OrderError, FulfilmentError, LookupError, ValueError, ArithmeticError) as exc:
        problems = getattr(exc, "problems", ())
        text = "; ".join(f"{p.path}: {p.message}" for p in problems) or str(exc)
        return RedirectResponse(f"/orders/{order_id}?" + urlencode({"error": text}), 303)
    return RedirectResponse(f"/orders/{order_id}?" + urlencode({"flash": t("Done.")}), 303)


@router.get("/orders/{order_id}/quote")
def quote_document(request: Request, order_id: str) -> HTMLResponse:
    """The quote as a printable HTML document; each view is recorded in the order's audit trail."""
    user = _user(request)
    host = _host(request)
    record = host.order(order_id)
    host.events.record(order_id, user.actor, "document_viewed", host.clock.now(), document="quote",
                       version=record.version)
    return _page(request, "quote_doc.html", user, d=record_detail(record), order=record.order,
                 printed=host.clock.now())


def _document(request: Request, order_id: str, document: str, template: str, **context: Any) -> HTMLResponse:
    user = _user(request)
    host = _host(request)
    record = host.order(order_id)
    host.events.record(order_id, user.actor, "document_viewed", host.clock.now(), document=document,
                       version=record.version)
    return _page(request, template, user, d=record_detail(record), order=record.order, printed=host.clock.now(),
                 **context)


@router.get("/orders/{order_id}/invoice")
def invoice_document(request: Request, order_id: str) -> HTMLResponse:
    """The invoice as a printable HTML document (with the payments so far); views are audited."""
    host = _host(request)
    payments = host.records.payments.for_order(order_id) if host.fulfilment_on else []
    return _document(request, order_id, "invoice", "invoice_doc.html", payments=payments)


@router.get("/orders/{order_id}/returns/{rma_id}/label")
def return_label(request: Request, order_id: str, rma_id: str) -> HTMLResponse:
    """A return label for one return authorisation; views are audited."""
    host = _host(request)
    if not host.fulfilment_on:
        return _page(request, "message.html", _user(request), status=404, message="fulfilment is not configured")
    rma = host.records.returns.get(rma_id)
    if rma.order_id != order_id:
        return _page(request, "message.html", _user(request), status=404, message=f"{rma_id}: not found")
    return _document(request, order_id, f"return label {rma_id}", "return_label.html", rma=rma)


# -- dashboards ---------------------------------------------------------------------------------------------
@router.get("/exceptions")
def exceptions_page(request: Request) -> HTMLResponse:
    user = _user(request)
    host = _host(request)
    alerts = open_alerts(host) if host.fulfilment_on else []
    return _page(request, "exceptions.html", user, x=exceptions(host.db, host.clock.now().date()), alerts=alerts)


@router.get("/reports")
def reports_page(request: Request, start: str = "", end: str = "") -> HTMLResponse:
    user = _user(request)
    host = _host(request)
    end_day = dt.date.fromisoformat(end) if end else host.clock.now().date()
    start_day = dt.date.fromisoformat(start) if start else end_day - dt.timedelta(days=90)
    cats = categories(host)
    charts = {d.value: report(host.db, d, start_day, end_day, "EUR", cats, 8) for d in Dimension}
    peak = {k: max((r.revenue for r in rows), default=Decimal(0)) or Decimal(1) for k, rows in charts.items()}
    return _page(request, "reports.html", user, charts=charts, peak=peak, start=start_day, end=end_day)


@router.get("/customers")
def customers_page(request: Request, q: str = "") -> HTMLResponse:
    user = _user(request)
    host = _host(request)
    return _page(request, "customers.html", user, customers=host.customers.search(q, limit=100), q=q)


@router.get("/supply")
def supply_page(request: Request, item: str = "") -> HTMLResponse:
    user = _user(request)
    host = _host(request)
    rows = [(position, committed) for position, committed in host.supply.positions()
            if not item or item.upper() in position.item]
    requests = sorted(host.records.replenishments.all(), key=lambda r: (r.status.value != "open", r.request_id))
    return _page(request, "supply.html", user, rows=rows, item=item, error=request.query_params.get("error"),
                 replenishments=requests)


@router.post("/supply")
def supply_action(request: Request, action: str = Form(...), item: str = Form(""), location: str = Form(""),
                  on_hand: str = Form("0"), request_id: str = Form(""), quantity: str = Form("")) -> Response:
    from rule_language import RulesetLoadError

    user = _user(request)
    host = _host(request)
    t = _translator(request, user)
    if not user.can(Action.ADMIN_PRICING):
        return RedirectResponse("/supply?" + urlencode({"error": t("You may not do this.")}), 303)
    try:
        if action == "reload":
            bundle = host.reload_rulesets()
            request.app.state.configurators = Configurators(bundle)
        elif action == "receive_replenishment":
            host.bus.handle(cmd.ReceiveReplenishment(actor=user.actor, request_id=request_id,
                                                     quantity=Decimal(quantity) if quantity else None))
        else:
            current = next((p for p, _ in host.supply.positions() if (p.item, p.location) == (item, location)), None)
            if current is None:
                raise ValueError(f"no supply for {item} at {location}")
            host.supply.put_supply(current.model_copy(update={"on_hand": int(on_hand)}))
    except pydantic.ValidationError as exc:
        text = "; ".join(str(p) for p in problems_from_pydantic(exc))
        return RedirectResponse("/supply?" + urlencode({"error": text}), 303)
    except (RulesetLoadError, OrderError, LookupError, ValueError, ArithmeticError) as exc:
        return RedirectResponse("/supply?" + urlencode({"error": str(exc)[:2000]}), 303)
    return RedirectResponse("/supply?" + urlencode({"flash": t("Done.")}), 303)


def install_ui(app: FastAPI) -> None:
    """Add the order desk's pages and static files to ``app``."""
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    app.include_router(router)

    @app.exception_handler(LoginRequired)
    async def _login(request: Request, _: LoginRequired) -> Response:
        return RedirectResponse("/login", status_code=303)
