"""Every API error is JSON: ``{"error": {"type", "message", "problems": [{"path", "message", ...}]}}``.

Paths are the order layer's field paths (``lines[2].quantity``), also for
request-shape errors caught by FastAPI, so a client points at one field
whichever layer found the problem. Every 4xx names at least one path: a
field, a query parameter (``query.offset``), a URL id (``order_id``), the
``body`` as a whole, the ``authorization`` header, or the ``request``. The
OpenAPI description says so: every operation's 4XX answers are
:class:`ErrorResponse` (:func:`install_error_handlers` adds them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from order_management import (
    ConcurrentUpdateError,
    FieldProblem,
    FulfilmentNotConfiguredError,
    ImportFormatError,
    NotPermittedError,
    OrderNotFoundError,
    OrderValidationError,
    ProcessingConstraintError,
)
from order_management.fulfilment import FulfilmentError, PaymentDeclinedError
from order_management.promising import PromisingError, PromisingInputError

__all__ = ["ApiError", "ErrorResponse", "error_body", "install_error_handlers"]


class Problem(BaseModel):
    path: str = Field(min_length=1, description="the field (`lines[2].quantity`), query parameter (`query.q`), "
                                                "URL id (`order_id`), `body`, `authorization` or `request`")
    message: str
    rule: str | None = Field(None, description="the rule that found the problem, when one did")
    severity: str = "error"


class ErrorDetail(BaseModel):
    type: str = Field(description="what kind of error: `validation_error`, `not_found`, `payload_too_large`, ...")
    message: str
    problems: list[Problem]


class ErrorResponse(BaseModel):
    """The body of every 4xx answer."""

    error: ErrorDetail


class ApiError(Exception):
    """An error the API answers directly: ``status``, a typed ``kind`` and the problems found."""

    def __init__(self, status: int, kind: str, message: str, problems: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.problems = status, kind, message, tuple(problems)


def error_body(kind: str, message: str, problems: Iterable[FieldProblem] = (), where: str = "request"
               ) -> dict[str, Any]:
    """The error body; with no problems given, one problem at ``where`` carries the message."""
    listed = list(problems) or [FieldProblem(where, message)]
    return {"error": {"type": kind, "message": message, "problems": [
        {"path": p.path, "message": p.message, "rule": p.rule, "severity": p.severity.value} for p in listed]}}


def _located(request: Request, message: str) -> str:
    """The URL id a not-found message is about (``order_id``), else ``request``."""
    params = request.path_params
    for name, value in params.items():
        if str(value) and str(value) in message:
            return name
    return next(iter(params), "request")


def _path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "request"


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as :class:`ErrorResponse` JSON, and publish that in the OpenAPI description."""

    def reply(status: int, kind: str, message: str, problems: Iterable[FieldProblem] = (),
              where: str = "request") -> JSONResponse:
        return JSONResponse(error_body(kind, message, problems, where), status_code=status)

    app.openapi = _openapi_with_errors(app)  # type: ignore[method-assign]

    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return reply(exc.status, exc.kind, exc.message, exc.problems)

    @app.exception_handler(OrderValidationError)
    async def _invalid(_: Request, exc: OrderValidationError) -> JSONResponse:
        return reply(422, "validation_error", "the order has problems; nothing was changed", exc.problems)

    @app.exception_handler(NotPermittedError)
    async def _not_permitted(_: Request, exc: NotPermittedError) -> JSONResponse:
        return reply(403, "not_permitted", str(exc))

    @app.exception_handler(FulfilmentNotConfiguredError)
    async def _no_fulfilment(_: Request, exc: FulfilmentNotConfiguredError) -> JSONResponse:
        return reply(404, "fulfilment_not_configured", str(exc), where="rulesets")

    @app.exception_handler(ProcessingConstraintError)
    async def _constraint(_: Request, exc: ProcessingConstraintError) -> JSONResponse:
        return reply(409, "not_allowed_now", "the change is not allowed in the order's status", exc.problems)

    @app.exception_handler(PaymentDeclinedError)
    async def _declined(_: Request, exc: PaymentDeclinedError) -> JSONResponse:
        return reply(402, "payment_declined", str(exc), where="method")

    @app.exception_handler(PromisingInputError)
    async def _promising_input(_: Request, exc: PromisingInputError) -> JSONResponse:
        return reply(422, "promising_input", str(exc), where="lines")

    @app.exception_handler(PromisingError)
    async def _promising(_: Request, exc: PromisingError) -> JSONResponse:
        return reply(409, "supply_conflict", str(exc), where="lines")

    @app.exception_handler(FulfilmentError)
    async def _fulfilment(_: Request, exc: FulfilmentError) -> JSONResponse:
        return reply(409, "fulfilment_conflict", str(exc), getattr(exc, "problems", ()))

    @app.exception_handler(LookupError)
    async def _lookup(request: Request, exc: LookupError) -> JSONResponse:
        if type(exc) in (KeyError, IndexError):  # a bug, not an unknown name: never dress it up as a 404
            return reply(500, "internal_error", f"{type(exc).__name__}: {exc}")
        message = str(exc).strip("'\"")
        return reply(404, "not_found", message, where=_located(request, message))

    @app.exception_handler(ConcurrentUpdateError)
    async def _concurrent(_: Request, exc: ConcurrentUpdateError) -> JSONResponse:
        return JSONResponse({**error_body("concurrent_update", f"{exc}; reload the order and try again",
                                          where="expected_version"),
                             "changes": list(exc.changes)}, status_code=409)

    @app.exception_handler(OrderNotFoundError)
    async def _not_found(request: Request, exc: OrderNotFoundError) -> JSONResponse:
        return reply(404, "not_found", str(exc), where=_located(request, str(exc)))

    @app.exception_handler(ImportFormatError)
    async def _bad_batch(_: Request, exc: ImportFormatError) -> JSONResponse:
        return reply(400, "bad_batch", str(exc), where="body")

    @app.exception_handler(RequestValidationError)
    async def _request(_: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for item in exc.errors():
            loc = list(item.get("loc", ()))
            if loc and loc[0] in ("body", "query", "path"):
                loc = loc[1:] if loc[0] == "body" else loc
            problems.append(FieldProblem(_path(loc), str(item.get("msg", "invalid"))))
        return reply(422, "request_error", "the request is malformed; nothing was changed", problems)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        kinds = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 429: "too_many_attempts"}
        where = {401: "authorization", 404: _located(request, str(exc.detail))}.get(exc.status_code, "request")
        return JSONResponse(error_body(kinds.get(exc.status_code, "http_error"), str(exc.detail), where=where),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))


def _openapi_with_errors(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi`` that documents :class:`ErrorResponse` as every operation's 4XX (and 422) answer."""
    error_ref = {"$ref": "#/components/schemas/ErrorResponse"}
    described = {"description": "An error, with the path of each problem",
                 "content": {"application/json": {"schema": error_ref}}}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(title=app.title, version=app.version, openapi_version=app.openapi_version,
                           description=app.description, routes=app.routes)
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        error_schema = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(error_schema.pop("$defs", {}))
        schemas["ErrorResponse"] = error_schema
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        for path in spec.get("paths", {}).values():
            for operation in path.values():
                _hoist_definitions(operation.get("requestBody", {}), schemas)
                responses = operation.setdefault("responses", {})
                responses["4XX"] = described
                if "422" in responses:
                    responses["422"] = described
        app.openapi_schema = spec
        return spec

    return openapi


def _hoist_definitions(node: Any, schemas: dict[str, Any]) -> Any:
    """Move pydantic's ``$defs`` of an inline schema to the components, and point its refs there.

    A ``#/$defs/LineInput`` ref is resolved from the root of the OpenAPI
    document, where there is no ``$defs``: left inline, it points nowhere.
    """
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            schemas.setdefault(name, _hoist_definitions(definition, schemas))
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for value in node.values():
            _hoist_definitions(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _hoist_definitions(value, schemas)
    return node
