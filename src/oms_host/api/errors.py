"""Every API error is JSON: ``{"error": {"type", "message", "problems": [{"path", "message", ...}]}}``.

Paths are the order layer's field paths (``lines[2].quantity``), also for
request-shape errors caught by FastAPI, so a client points at one field
whichever layer found the problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
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

__all__ = ["error_body", "install_error_handlers"]


def error_body(kind: str, message: str, problems: Iterable[FieldProblem] = ()) -> dict[str, Any]:
    return {"error": {"type": kind, "message": message, "problems": [
        {"path": p.path, "message": p.message, "rule": p.rule, "severity": p.severity.value} for p in problems]}}


def _path(loc: Iterable[Any]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "request"


def install_error_handlers(app: FastAPI) -> None:
    def reply(status: int, kind: str, message: str, problems: Iterable[FieldProblem] = ()) -> JSONResponse:
        return JSONResponse(error_body(kind, message, problems), status_code=status)

    @app.exception_handler(OrderValidationError)
    async def _invalid(_: Request, exc: OrderValidationError) -> JSONResponse:
        return reply(422, "validation_error", "the order has problems; nothing was changed", exc.problems)

    @app.exception_handler(NotPermittedError)
    async def _not_permitted(_: Request, exc: NotPermittedError) -> JSONResponse:
        return reply(403, "not_permitted", str(exc))

    @app.exception_handler(FulfilmentNotConfiguredError)
    async def _no_fulfilment(_: Request, exc: FulfilmentNotConfiguredError) -> JSONResponse:
        return reply(404, "fulfilment_not_configured", str(exc))

    @app.exception_handler(ProcessingConstraintError)
    async def _constraint(_: Request, exc: ProcessingConstraintError) -> JSONResponse:
        return reply(409, "not_allowed_now", "the change is not allowed in the order's status", exc.problems)

    @app.exception_handler(PaymentDeclinedError)
    async def _declined(_: Request, exc: PaymentDeclinedError) -> JSONResponse:
        return reply(402, "payment_declined", str(exc))

    @app.exception_handler(PromisingInputError)
    async def _promising_input(_: Request, exc: PromisingInputError) -> JSONResponse:
        return reply(422, "promising_input", str(exc))

    @app.exception_handler(PromisingError)
    async def _promising(_: Request, exc: PromisingError) -> JSONResponse:
        return reply(409, "supply_conflict", str(exc))

    @app.exception_handler(FulfilmentError)
    async def _fulfilment(_: Request, exc: FulfilmentError) -> JSONResponse:
        return reply(409, "fulfilment_conflict", str(exc), getattr(exc, "problems", ()))

    @app.exception_handler(LookupError)
    async def _lookup(_: Request, exc: LookupError) -> JSONResponse:
        if type(exc) in (KeyError, IndexError):  # a bug, not an unknown name: never dress it up as a 404
            return reply(500, "internal_error", f"{type(exc).__name__}: {exc}")
        return reply(404, "not_found", str(exc).strip("'\""))

    @app.exception_handler(ConcurrentUpdateError)
    async def _concurrent(_: Request, exc: ConcurrentUpdateError) -> JSONResponse:
        return JSONResponse({**error_body("concurrent_update", f"{exc}; reload the order and try again"),
                             "changes": list(exc.changes)}, status_code=409)

    @app.exception_handler(OrderNotFoundError)
    async def _not_found(_: Request, exc: OrderNotFoundError) -> JSONResponse:
        return reply(404, "not_found", str(exc))

    @app.exception_handler(ImportFormatError)
    async def _bad_batch(_: Request, exc: ImportFormatError) -> JSONResponse:
        return reply(400, "bad_batch", str(exc))

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
    async def _http(_: Request, exc: HTTPException) -> JSONResponse:
        kinds = {401: "unauthenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
                 429: "too_many_attempts"}
        return JSONResponse(error_body(kinds.get(exc.status_code, "http_error"), str(exc.detail)),
                            status_code=exc.status_code, headers=getattr(exc, "headers", None))
