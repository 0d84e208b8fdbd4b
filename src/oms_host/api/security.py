"""Who is calling, may they do this, and did the request come from our own pages.

Two ways to authenticate: a bearer token (``Authorization: Bearer …``: API
clients, a log-in session's token used by a program) or the ``tarif_session``
cookie a browser holds after logging in. A browser sends that cookie with any
request to this host, also one a foreign page makes it send, so every
state-changing request authenticated by the cookie — and every form post of the
web UI, log-in included — must prove it came from one of our pages
(:class:`BrowserDefences`):

- a **CSRF token** (double submit): a random value in the ``tarif_csrf`` cookie
  (HttpOnly, set on the first response), which our pages echo in a hidden form
  field (``csrf_token``) or, from script, in the ``X-CSRF-Token`` header. A
  foreign page can make the browser send the cookie but can neither read it
  nor set the header;
- an **origin check**: the ``Origin`` header (or, lacking it, the
  ``Referer``) names this host; a request with neither is refused;
- **JSON is JSON**: an API body must say ``application/json`` (CSV imports:
  ``text/csv``); a ``text/plain`` body holding JSON — what a cross-site form can
  send without a preflight — is refused.

Bearer-token requests carry no cookie authority and skip the first two checks
(a foreign page cannot set ``Authorization``). A refusal is ``403`` (``415``
for a wrong content type) with a JSON error naming the header at fault, or,
for a form, a page saying what to do. The same middleware adds the security
headers to every response (:data:`SECURITY_HEADERS`).

Settings come from the environment once, when the app is built
(:meth:`SecuritySettings.from_env`): ``TARIF_SECURE_COOKIES=1`` marks the
session and CSRF cookies ``Secure`` (behind TLS), ``TARIF_TRUSTED_ORIGINS``
lists further origins (``https://desk.example.com``) for a proxy that rewrites
the ``Host`` header.

>>> problems = csrf_problems("POST", "/api/orders", {"content-type": "text/plain", "content-length": "2"},
...                          cookie_auth=True, own_origins=("http://desk",), expected="t" * 43, given=None)
>>> [path for path, _ in problems]
['headers.Origin', 'headers.X-CSRF-Token', 'headers.Content-Type']
>>> csrf_problems("POST", "/api/orders", {"content-type": "application/json", "content-length": "2"},
...               cookie_auth=False, own_origins=("http://desk",), expected=None, given=None)  # a bearer client
[]
"""

from __future__ import annotations

import hmac
import os
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html import escape
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import Headers
from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oms_host.auth import Action, User, Users
from oms_host.host import Host
from order_management import FieldProblem

from .errors import error_body

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "CSRF_COOKIE",
    "CSRF_FIELD",
    "CSRF_HEADER",
    "DOCS_POLICY",
    "SECURITY_HEADERS",
    "SESSION_COOKIE",
    "BrowserDefences",
    "SecuritySettings",
    "client_address",
    "csrf_problems",
    "get_host",
    "get_users",
    "install_browser_defences",
    "optional_user",
    "origin_problem",
    "requires",
    "security_settings",
    "set_cookie",
]

SESSION_COOKIE = "tarif_session"
CSRF_COOKIE = "tarif_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"

#: Every response's policy: scripts, styles, images and fetches only from this host; no inline script or
#: style (the desk's templates have none: data for order-entry.js is a JSON block), no frames, no plugins.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                           "base-uri 'none'; object-src 'none'")
#: FastAPI's /docs and /redoc pages load Swagger UI and ReDoc from a CDN and start them with an inline script;
#: they hold no user data, so they get a policy of their own rather than loosening the desk's.
DOCS_POLICY = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
               "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
               "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com "
               "https://cdn.redoc.ly; worker-src 'self' blob:; connect-src 'self'; form-action 'self'; "
               "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
_DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
#: Added to every response that does not set them itself.
SECURITY_HEADERS = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "same-origin"}

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")  # secrets.token_urlsafe(32)
_FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


@dataclass(frozen=True)
class SecuritySettings:
    """The browser-facing settings, stated once; see the module docstring for the environment variables."""

    secure_cookies: bool = False          # session, CSRF and language cookies only over HTTPS
    trusted_origins: tuple[str, ...] = ()  # origins besides the request's own scheme://Host
    max_form_bytes: int = 1 << 20          # a form body read to find its CSRF token (the desk's forms are small)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SecuritySettings:
        env = os.environ if environ is None else environ
        secure = env.get("TARIF_SECURE_COOKIES", "").strip().lower() in ("1", "true", "yes", "on")
        origins = tuple(_origin(o) for o in env.get("TARIF_TRUSTED_ORIGINS", "").split(",") if o.strip())
        return cls(secure_cookies=secure, trusted_origins=origins)


# -- who is calling ---------------------------------------------------------------------------------------
def get_host(request: Request) -> Host:
    return request.app.state.host


def get_users(request: Request) -> Users:
    return request.app.state.users


def _bearer(headers: Mapping[str, str]) -> str | None:
    header = headers.get("authorization", "")
    return header[7:].strip() or None if header.lower().startswith("bearer ") else None


def _token(request: Request) -> str | None:
    return _bearer(request.headers) or request.cookies.get(SESSION_COOKIE)


def client_address(request: Request) -> str:
    """The caller's address as the server sees it (behind a proxy: run uvicorn with --proxy-headers)."""
    return request.client.host if request.client else "unknown"


def optional_user(request: Request) -> User | None:
    token = _token(request)
    if not token:
        return None
    host: Host = request.app.state.host
    return request.app.state.users.by_token(token, host.clock.now())


def requires(action: Action) -> Callable[..., User]:
    """A dependency: the calling user, who must be allowed ``action`` (401 / 403 otherwise)."""

    def dependency(user: User | None = Depends(optional_user)) -> User:  # noqa: B008
        if user is None:
            raise HTTPException(401, "log in (POST /api/session) or send an API token as a bearer token",
                                headers={"WWW-Authenticate": "Bearer"})
        if not user.can(action):
            raise HTTPException(403, f"the {user.role.value} role may not {action.value.replace('_', ' ')}")
        return user

    return dependency


# -- cookies ------------------------------------------------------------------------------------------------
def security_settings(request: Request) -> SecuritySettings:
    return getattr(request.app.state, "security", None) or SecuritySettings()


def set_cookie(response: Response, request: Request, name: str, value: str, *, httponly: bool = True) -> None:
    """Set a cookie of the app: SameSite=Lax, HttpOnly unless asked, Secure when the settings say so."""
    response.set_cookie(name, value, httponly=httponly, samesite="lax",
                        secure=security_settings(request).secure_cookies)


# -- the checks (pure) --------------------------------------------------------------------------------------
def _origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower case, without a default port ('' when it has none)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if not parts.scheme or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port and port != default else "")


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _is_api(path: str) -> bool:
    return path == "/api" or path.startswith("/api/")


def _has_body(headers: Mapping[str, str]) -> bool:
    return headers.get("content-length", "0") not in ("", "0") or "transfer-encoding" in headers


def origin_problem(headers: Mapping[str, str], own_origins: Iterable[str]) -> tuple[str, str] | None:
    """Whether the ``Origin`` (or, lacking it, the ``Referer``) names one of ``own_origins``."""
    origin, referer = headers.get("origin"), headers.get("referer")
    if origin is None and not referer:
        return "headers.Origin", "the request names no Origin or Referer; send it from a page of this site"
    field, claimed = ("headers.Origin", _origin(origin)) if origin is not None else (
        "headers.Referer", _origin(referer or ""))
    if claimed in set(own_origins):
        return None
    return field, (f"the request comes from {claimed or 'an opaque origin'}, not from this site; "
                   "cross-site requests may not change anything")


def csrf_problems(method: str, path: str, headers: Mapping[str, str], *, cookie_auth: bool,
                  own_origins: Iterable[str], expected: str | None, given: str | None) -> list[tuple[str, str]]:
    """What is wrong with an unsafe request, as ``(field path, message)``; empty when it may pass.

    ``cookie_auth``: the request would be authenticated by the session cookie
    (it has one and no bearer token). Web pages (outside ``/api``) are always
    checked, log-in and log-out included; API calls only when ``cookie_auth``.
    ``expected`` is the CSRF cookie's value, ``given`` the token the request
    carries. Every problem is reported, not just the first.
    """
    if method.upper() in _SAFE_METHODS:
        return []
    problems: list[tuple[str, str]] = []
    api = _is_api(path)
    if not api or cookie_auth:
        origin = origin_problem(headers, own_origins)
        if origin:
            problems.append(origin)
        field = f"headers.{CSRF_HEADER}" if api else CSRF_FIELD
        how = (f"send the {CSRF_HEADER} header with the value the page holds" if api else
               "reload the page and send the form again")
        if not given:
            problems.append((field, f"the CSRF token is missing; {how}"))
        elif not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            problems.append((field, f"the CSRF token does not match this browser's; {how}"))
    if api and _has_body(headers):
        media = _media_type(headers)
        imports = path.rstrip("/") == "/api/imports"
        allowed = media == "application/json" or media.endswith("+json") or (media == "text/csv" and imports)
        if (media and not allowed) or (not media and cookie_auth):
            problems.append(("headers.Content-Type", "the body must be JSON: send Content-Type: application/json"
                             + (" (or text/csv for an import)" if imports else "")))
    return problems


# -- the middleware (shell) ---------------------------------------------------------------------------------
class BrowserDefences:
    """ASGI middleware: the CSRF cookie and checks of the module docstring, and the security headers."""

    def __init__(self, app: ASGIApp, settings: SecuritySettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cookies = cookie_parser(headers.get("cookie", ""))
        known = cookies.get(CSRF_COOKIE)
        fresh = None if known and _TOKEN.fullmatch(known) else secrets.token_urlsafe(32)
        token = fresh or known
        scope.setdefault("state", {})["csrf_token"] = token
        send = self._decorated(send, fresh, DOCS_POLICY if scope["path"] in _DOCS_PATHS else CONTENT_SECURITY_POLICY)
        if scope["method"] not in _SAFE_METHODS:
            refusal, receive = await self._check(scope, receive, headers, cookies, None if fresh else known)
            if refusal is not None:
                await refusal(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _decorated(self, send: Send, fresh: str | None, policy: str) -> Send:
        added = [(b"content-security-policy", policy.encode()),
                 *((name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items())]
        if fresh:
            cookie = f"{CSRF_COOKIE}={fresh}; Path=/; SameSite=Lax; HttpOnly"
            added.append((b"set-cookie", (cookie + ("; Secure" if self.settings.secure_cookies else "")).encode()))

        async def decorated(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                message["headers"] = headers + [(n, v) for n, v in added if n == b"set-cookie" or n not in present]
            await send(message)

        return decorated

    def _own_origins(self, scope: Scope, headers: Headers) -> tuple[str, ...]:
        own = _origin(f"{scope.get('scheme', 'http')}://{headers.get('host', '')}")
        return (own, *self.settings.trusted_origins) if own else self.settings.trusted_origins

    async def _check(self, scope: Scope, receive: Receive, headers: Headers, cookies: Mapping[str, str],
                     expected: str | None) -> tuple[ASGIApp | None, Receive]:
        path, method = scope["path"], scope["method"]
        api = _is_api(path)
        cookie_auth = bool(cookies.get(SESSION_COOKIE)) and _bearer(headers) is None
        own = self._own_origins(scope, headers)
        given = headers.get(CSRF_HEADER.lower())
        if not api and given is None and _media_type(headers) in _FORM_TYPES:
            # a web form's token is a field of its body: refuse a foreign origin before reading it
            origin = origin_problem(headers, own)
            if origin:
                return _refusal(False, [origin]), receive
            body, receive = await _read_body(receive, self.settings.max_form_bytes)
            if body is None:
                return _refusal(False, [("body", f"the form is over {self.settings.max_form_bytes} bytes")],
                                status=413), receive
            given = await _form_token(scope, headers, body)
        problems = csrf_problems(method, path, headers, cookie_auth=cookie_auth, own_origins=own,
                                 expected=expected, given=given)
        return (_refusal(api, problems) if problems else None), receive


async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, Receive]:
    """The whole body (None beyond ``limit`` bytes) and a ``receive`` that hands it on to the app."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > limit:
            return None, receive
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return body, replay


async def _form_token(scope: Scope, headers: Headers, body: bytes) -> str | None:
    media = _media_type(headers)
    if media == _FORM_TYPES[0]:
        return dict(parse_qsl(body.decode("utf-8", errors="replace"))).get(CSRF_FIELD)
    if media == _FORM_TYPES[1]:
        from starlette.formparsers import MultiPartException
        from starlette.requests import Request as StarletteRequest

        async def once() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        try:
            form = await StarletteRequest(scope, once).form()
        except (MultiPartException, ValueError):  # an unreadable body has no token; the refusal says so
            return None
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Refused</title><link rel="stylesheet" href="/static/desk.css">
</head><body><main><h1>This request was refused</h1>
<div class="error" id="refused">{message}</div>
<p>Nothing was changed. If you sent this from the order desk, go back, reload the page and try again.</p>
<p><a href="/orders">Back to the orders</a></p></main></body></html>"""


def _refusal(api: bool, problems: list[tuple[str, str]], status: int | None = None) -> ASGIApp:
    csrf = any(path != "headers.Content-Type" for path, _ in problems)
    status = status or (403 if csrf else 415)
    if api:
        kind = "csrf_refused" if csrf else "unsupported_media_type"
        message = ("the request was not sent from a page of this site; nothing was changed" if csrf else
                   "the body's content type is not accepted; nothing was changed")
        return JSONResponse(error_body(kind, message, [FieldProblem(p, m) for p, m in problems]), status_code=status)
    text = "<br>".join(escape(f"{m} ({p})") for p, m in problems)
    return HTMLResponse(_PAGE.format(message=text), status_code=status)


def install_browser_defences(app: FastAPI, settings: SecuritySettings | None = None) -> SecuritySettings:
    """Add :class:`BrowserDefences` to ``app`` and keep ``settings`` at ``app.state.security``."""
    settings = settings or SecuritySettings.from_env()
    app.state.security = settings
    app.add_middleware(BrowserDefences, settings=settings)
    return settings

