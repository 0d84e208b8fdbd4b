"""The request body's size, enforced before any route reads it: 413 with a located problem.

The limit is :data:`order_management.limits.MAX_BODY_BYTES`, the library's
one statement of it. A ``Content-Length`` over the limit is refused without
reading a byte; a body sent without one (chunked) is read up to the limit and
refused as soon as it goes past, so no route ever buffers more. Every other
limit (lines per order, text lengths, ranges, nesting, page sizes) is a field
of the input models and answers 422 naming its field.

>>> from fastapi import FastAPI
>>> app = FastAPI()
>>> install_limits(app)
>>> [m.cls.__name__ for m in app.user_middleware]
['BodySizeLimit']
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from order_management.limits import MAX_BODY_BYTES

from .errors import error_body

__all__ = ["BodySizeLimit", "install_limits"]


class BodySizeLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets 413 and never reaches the app."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, f"the body has {declared:,} bytes")
            return
        messages: list[Message] = []
        size = 0
        more = True
        while more:  # read the body (at most max_bytes) before the app sees any of it
            message = await receive()
            if message["type"] != "http.request":
                messages.append(message)  # the client went away: the app finds out as it reads
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send, f"the body has more than {self.max_bytes:,} bytes")
                return
            messages.append(message)
            more = message.get("more_body", False)

        async def replay() -> Message:
            if messages:
                return messages.pop(0)
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: Send, found: str) -> None:
        message = f"{found}; a request body may have at most {self.max_bytes:,} bytes (split an import batch)"
        payload = json.dumps(error_body("payload_too_large", message, where="body")).encode()
        await send({"type": "http.response.start", "status": 413, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
            (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def install_limits(app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
    """Refuse request bodies over ``max_bytes`` (413, ``body``) before any route runs."""
    app.add_middleware(BodySizeLimit, max_bytes=max_bytes)
