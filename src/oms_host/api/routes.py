"""The JSON API: quotes, capture, imports, revisions, cancellation, search, detail, approvals, reports.

Request bodies are parsed with numbers as Decimals (an amount never passes
through a float). Each endpoint names the action it needs; see
:mod:`oms_host.auth` for which role may do what.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Annotated, Any

import pydantic
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from oms_host.auth import APPROVAL_ROLES, PRICING_ROLE, Action, User
from oms_host.configure import Configurators
from oms_host.host import Host
from oms_host.storage.queries import Dimension, OrderFilter, exceptions, list_orders, report
from order_management import (
    ErrorPolicy,
    FieldProblem,
    OrderInput,
    OrderStatus,
    OrderValidationError,
    check_availability,
    import_orders,
    parse_csv_batch,
    parse_json_batch,
)
from order_management import commands as cmd
from order_management import (
    quote as quote_draft,
)
from order_management.handlers import problems_from_pydantic
from order_management.limits import (
    ID_LENGTH,
    MAX_JSON_DEPTH,
    MAX_MAP_ENTRIES,
    MAX_OFFSET,
    MAX_ORDERS_PER_IMPORT,
    MAX_PAGE_SIZE,
    MAX_VERSION,
    REASON_LENGTH,
    SEARCH_LENGTH,
    OptionValue,
    OrderId,
    Text,
    json_depth,
)

from .bodies import body_of, command_from
from .errors import ApiError
from .security import get_host, requires
from .serialise import plain, record_detail

__all__ = ["router"]

router = APIRouter(prefix="/api")
HostDep = Annotated[Host, Depends(get_host)]
Viewer = Annotated[User, Depends(requires(Action.VIEW))]
Desk = Annotated[User, Depends(requires(Action.CAPTURE))]
Importer = Annotated[User, Depends(requires(Action.IMPORT))]
Approver = Annotated[User, Depends(requires(Action.APPROVE))]
#: Query parameters: a page of at most MAX_PAGE_SIZE rows starting at most MAX_OFFSET rows in; search text.
PageSize = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)]
Offset = Annotated[int, Query(ge=0, le=MAX_OFFSET)]
SearchText = Annotated[str, Text(SEARCH_LENGTH)]
Name = Annotated[str, Text(80)]

_ORDER_BODY = {"requestBody": {"required": True, "content": {"application/json": {
    "schema": OrderInput.model_json_schema(mode="validation")}}}}


def command(kind: type[cmd.Command], **fields: Any) -> Any:
    """Build a command from checked request input; a bad field is a 422 naming its path."""
    try:
        return kind.model_validate(fields)
    except pydantic.ValidationError as exc:
        raise OrderValidationError(problems_from_pydantic(exc)) from None


def draft_of(body: Any) -> OrderInput:
    """The order a client sent, with only the fields a client may set (ids, versions, statuses are the server's)."""
    try:
        return OrderInput.model_validate(_object(body))
    except pydantic.ValidationError as exc:
        raise OrderValidationError(problems_from_pydantic(exc)) from None


async def json_body(request: Request) -> Any:
    """The request body as JSON with exact numbers (Decimal, never float), nested at most MAX_JSON_DEPTH deep."""
    raw = await request.body()
    too_deep = json_depth(raw)
    if too_deep is not None:
        raise ApiError(422, "request_error", "the request is malformed; nothing was changed", [FieldProblem(
            "body", f"JSON nested deeper than {MAX_JSON_DEPTH} levels (at byte {too_deep})")])
    try:
        return json.loads(raw or b"null", parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", "the body is not JSON", [FieldProblem(
            "body", f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")]) from None
    except ValueError as exc:  # not UTF-8, or an integer of more than 4,300 digits
        raise ApiError(400, "invalid_json", "the body is not JSON", [FieldProblem("body", str(exc))]) from None


Body = Annotated[Any, Depends(json_body)]


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(422, "request_error", "the body must be a JSON object",
                       [FieldProblem("body", f"a JSON object is expected, not {type(body).__name__}")])
    return body


class Decision(BaseModel):
    note: Annotated[str, Text(REASON_LENGTH)] = ""


CancellationBody = body_of(cmd.CancelOrder, "order_id")


def stamp_discounts(data: dict[str, Any], user: User) -> dict[str, Any]:
    """Manual discounts carry the caller's pricing role and name, whatever the client sent.

    The pricing engine decides from the role whether a discount needs approval,
    so a client must not be able to choose it.
    """
    def stamp(discounts: Any) -> Any:
        if not isinstance(discounts, list):
            return discounts
        return [{**d, "role": PRICING_ROLE[user.role], "entered_by": user.username} if isinstance(d, dict) else d
                for d in discounts]

    data = dict(data)
    if "manual_discounts" in data:
        data["manual_discounts"] = stamp(data["manual_discounts"])
    if isinstance(data.get("lines"), list):
        data["lines"] = [{**line, "manual_discounts": stamp(line["manual_discounts"])}
                         if isinstance(line, dict) and "manual_discounts" in line else line for line in data["lines"]]
    return data


# -- pricing and availability ---------------------------------------------------------------------------
@router.post("/quote", tags=["orders"], summary="Price a draft order (waterfall per line); stores nothing",
             openapi_extra=_ORDER_BODY)
def quote(body: Body, host: HostDep, user: Viewer) -> JSONResponse:
    result = quote_draft(draft_of(stamp_discounts(_object(body), user)), host.deps)
    pricing = result.pricing
    return JSONResponse({
        "subtotal": plain(pricing.subtotal), "tax": plain(pricing.tax), "total": plain(pricing.total),
        "requires_approval": pricing.requires_approval, "approval_reasons": list(pricing.approval_reasons),
        "priced": plain(pricing.priced), "defaults_applied": list(result.defaults_applied),
        "problems": [{"path": p.path, "message": p.message, "rule": p.rule, "severity": p.severity.value}
                     for p in result.problems],
    })


@router.post("/availability", tags=["orders"], summary="What could be promised for a draft now (what-if)",
             openapi_extra=_ORDER_BODY)
def availability(body: Body, host: HostDep, user: Viewer) -> JSONResponse:
    return JSONResponse({"promises": plain(check_availability(draft_of(body), host.deps, host.unit_of_work()))})


class ConfigureRequest(BaseModel):
    choices: dict[Annotated[str, Text(80)], OptionValue] = Field(
        default_factory=dict, max_length=MAX_MAP_ENTRIES, description="option → value, applied in this order")


@router.post("/configure/{product_model}", tags=["configure"],
             summary="Configure a product: possible values, why others are not, and the fewest choices to undo")
def configure(product_model: Annotated[str, Text(80, min_length=1)], request: ConfigureRequest,
              host: HostDep, user: Viewer,
              http: Request) -> JSONResponse:
    return JSONResponse(plain(http.app.state.configurators.answer(product_model, request.choices)))


# -- orders ----------------------------------------------------------------------------------------------
@router.post("/orders", tags=["orders"], status_code=201, openapi_extra=_ORDER_BODY,
             summary="Capture an order: defaults, configuration check, price, validation, promise, save")
def capture(body: Body, host: HostDep, user: Desk) -> JSONResponse:
    draft = draft_of(stamp_discounts(_object(body), user))
    result = host.bus.handle(cmd.CaptureOrder(actor=user.actor, order=draft))
    detail = record_detail(result.record)
    detail["created"] = result.created
    detail["warnings"] = [str(w) for w in result.warnings]
    return JSONResponse(detail, status_code=201 if result.created else 200)


@router.get("/orders", tags=["orders"], summary="Search and filter orders (newest first)")
def search(host: HostDep, user: Viewer, status: OrderStatus | None = None,
           customer_id: Annotated[str, Text(ID_LENGTH)] | None = None,
           channel: Name | None = None, q: SearchText | None = None,
           flag: Annotated[str | None, Query(pattern="^(hold|approval|backorder|jeopardy)$")] = None,
           created_from: dt.date | None = None, created_to: dt.date | None = None,
           limit: PageSize = 50, offset: Offset = 0) -> JSONResponse:
    rows, total = list_orders(host.db, OrderFilter(status.value if status else None, customer_id, channel, q, flag,
                                                   created_from, created_to, limit, offset))
    return JSONResponse({"total": total, "orders": plain(rows)})


def order_detail(host: Host, order_id: str) -> dict[str, Any]:
    record = host.order(order_id)
    return record_detail(record, host.events.for_order(order_id))


@router.get("/orders/{order_id}", tags=["orders"], summary="An order with prices, promises, history and events")
def detail(order_id: OrderId, host: HostDep, user: Viewer) -> JSONResponse:
    return JSONResponse(order_detail(host, order_id))


@router.patch("/orders/{order_id}", tags=["orders"],
              summary="Revise an order: {changes: {...}, reason, expected_version} (409 with what changed if stale)")
def revise(order_id: OrderId, body: Body, host: HostDep, user: Desk) -> JSONResponse:
    data = _object(body)
    changes = data.get("changes")
    if not isinstance(changes, dict):
        raise OrderValidationError([FieldProblem("changes", "send {\"changes\": {field: value, ...}, "
                                                            "\"reason\": \"why\", \"expected_version\": n}")])
    given = {k: data[k] for k in ("expected_version", "reason") if k in data}
    host.bus.handle(command(cmd.ReviseOrder, actor=user.actor, order_id=order_id,
                            changes=stamp_discounts(changes, user), **given))
    return JSONResponse(order_detail(host, order_id))


@router.post("/orders/{order_id}/cancel", tags=["orders"],
             summary="Cancel: tracks compensated, reservation released, payments voided or refunded — or nothing")
def cancel(order_id: OrderId, body: CancellationBody, host: HostDep,  # type: ignore[valid-type]
           user: Desk) -> JSONResponse:
    host.bus.handle(command_from(cmd.CancelOrder, body, actor=user.actor, order_id=order_id))
    return JSONResponse(order_detail(host, order_id))


@router.post("/orders/{order_id}/approve", tags=["approvals"],
             summary="Approve the order's pending approval (not the person who entered it or its discounts)")
def approve(order_id: OrderId, decision: Decision, host: HostDep, user: Approver) -> JSONResponse:
    host.bus.handle(cmd.ApproveOrder(actor=user.actor, order_id=order_id, roles=APPROVAL_ROLES[user.role],
                                     note=decision.note))
    return JSONResponse(order_detail(host, order_id))


@router.post("/orders/{order_id}/reject", tags=["approvals"],
             summary="Reject: the order goes back to the desk (entered) to be changed and resubmitted")
def reject(order_id: OrderId, decision: Decision, host: HostDep, user: Approver) -> JSONResponse:
    host.bus.handle(cmd.RejectOrder(actor=user.actor, order_id=order_id, roles=APPROVAL_ROLES[user.role],
                                    reason=decision.note or "rejected"))
    return JSONResponse(order_detail(host, order_id))


@router.post("/orders/{order_id}/release-hold", tags=["approvals"], summary="Release the order's active holds")
def release(order_id: OrderId, decision: Decision, host: HostDep, user: Approver) -> JSONResponse:
    host.bus.handle(cmd.ReleaseHold(actor=user.actor, order_id=order_id, note=decision.note))
    return JSONResponse(order_detail(host, order_id))


# -- imports ----------------------------------------------------------------------------------------------
@router.post("/imports", tags=["imports"], summary="Import a batch (JSON, or CSV with Content-Type text/csv)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": {"type": "object", "required": ["orders"], "properties": {"orders": {
                     "type": "array", "maxItems": MAX_ORDERS_PER_IMPORT,
                     "items": OrderInput.model_json_schema(mode="validation")}}}},
                 "text/csv": {"schema": {"type": "string"}}}}})
async def import_batch(request: Request, host: HostDep, user: Importer,
                       policy: ErrorPolicy = ErrorPolicy.REJECT_BATCH) -> JSONResponse:
    from starlette.concurrency import run_in_threadpool

    text = (await request.body()).decode("utf-8", errors="replace")
    if "csv" in request.headers.get("content-type", ""):
        records = parse_csv_batch(text)
    else:
        records = parse_json_batch(text)
    report_ = await run_in_threadpool(import_orders, host.bus, records, policy, user.actor)
    status = 200 if report_.ok else 422 if (report_.batch_rejected or not report_.created) else 207
    problems = [{"path": p.path, "message": p.message, "rule": p.rule, "severity": p.severity.value}
                for p in report_.problems]
    refused = {"error": {"type": "import_rejected", "message": report_.summary(), "problems": problems}}
    return JSONResponse({
        **(refused if status == 422 else {}),
        "summary": report_.summary(), "created": report_.created, "already_imported": report_.already_imported,
        "rejected": report_.rejected, "batch_rejected": report_.batch_rejected, "problems": problems,
    }, status_code=status)


# -- pricing administration: supply and rulesets ------------------------------------------------------------
Admin = Annotated[User, Depends(requires(Action.ADMIN_PRICING))]


@router.get("/supply", tags=["admin"], summary="Supply per item and location, with the units committed against it")
def supply(host: HostDep, user: Viewer, item: Name | None = None) -> JSONResponse:
    rows = [{"position": position.model_dump(mode="json"), "committed": committed,
             "available": position.total_supply - committed}
            for position, committed in host.supply.positions() if item is None or position.item == item]
    return JSONResponse({"supply": rows})


@router.put("/supply/{item}/{location}", tags=["admin"],
            summary="Set an item's supply at a location (on hand, receipts, lead time); pricing admin")
def put_supply(item: Annotated[str, Text(80, min_length=1)], location: Annotated[str, Text(80, min_length=1)],
               body: Body, host: HostDep, user: Admin,
               expected_version: Annotated[int | None, Query(ge=0, le=MAX_VERSION)] = None) -> JSONResponse:
    from order_management.promising import SupplyPosition

    data = {**_object(body), "item": item, "location": location}
    try:
        position = SupplyPosition.model_validate(data)
    except pydantic.ValidationError as exc:
        raise OrderValidationError(problems_from_pydantic(exc)) from None
    version = host.supply.put_supply(position, expected_version)
    return JSONResponse({"item": item, "location": location, "version": version})


@router.post("/admin/reload-rulesets", tags=["admin"],
             summary="Load the ruleset folder again; every problem is reported and nothing changes if any")
def reload_rulesets(host: HostDep, user: Admin, http: Request) -> JSONResponse:
    from rule_language import RulesetLoadError

    try:
        bundle = host.reload_rulesets()
    except RulesetLoadError as exc:
        return JSONResponse({"error": {"type": "ruleset_error", "message": "the rulesets have problems; the old "
                                       "ones stay in force", "problems": [
                                           {"path": str(p).split(": ", 1)[0], "message": str(p),
                                            "rule": None, "severity": str(p.severity)} for p in exc.problems]}},
                            status_code=422)
    http.app.state.configurators = Configurators(bundle)
    return JSONResponse({"rulesets": [f"{r.kind}:{r.name}@{r.version}" for r in bundle.rulesets],
                         "warnings": [str(w) for w in bundle.warnings]})


# -- customers, reports, exceptions -----------------------------------------------------------------------
@router.get("/customers", tags=["customers"])
def customers(host: HostDep, user: Viewer, q: SearchText = "", limit: PageSize = 50,
              offset: Offset = 0) -> JSONResponse:
    return JSONResponse({"customers": plain(host.customers.search(q, limit=limit, offset=offset))})


def categories(host: Host) -> dict[str, str]:
    found: dict[str, str] = {}
    for ruleset in host.bundle.of_kind("product_catalog"):
        for sku, product in ruleset.artefact.products.items():
            found[sku] = product.category or "other"
    return found


@router.get("/reports/{dimension}", tags=["reports"],
            summary="Revenue (net) and count by product, category, customer, country, channel or day")
def reports(dimension: Dimension, host: HostDep, user: Viewer, start: dt.date | None = None,
            end: dt.date | None = None, currency: Annotated[str, Query(pattern="^[A-Z]{3}$")] = "EUR",
            limit: Annotated[int, Query(ge=1, le=100)] = 10) -> JSONResponse:
    end = end or host.clock.now().date()
    start = start or max(dt.date.min + dt.timedelta(days=90), end) - dt.timedelta(days=90)
    if start > end:
        raise ApiError(422, "request_error", "start is after end", [FieldProblem("query.start",
                                                                                 "start is after end")])
    rows = report(host.db, dimension, start, end, currency, categories(host), limit)
    return JSONResponse({"dimension": dimension.value, "start": start.isoformat(), "end": end.isoformat(),
                         "currency": currency, "rows": plain(rows)})


@router.get("/exceptions", tags=["reports"], summary="Orders in jeopardy, on hold, awaiting approval, short")
def exceptions_dashboard(host: HostDep, user: Viewer) -> JSONResponse:
    return JSONResponse(plain(exceptions(host.db, host.clock.now().date())))
