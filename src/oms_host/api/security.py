"""Who is calling: a login session (cookie or bearer token) or an API token, and may they do this."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, HTTPException, Request

from oms_host.auth import Action, User, Users
from oms_host.host import Host

__all__ = ["SESSION_COOKIE", "get_host", "get_users", "optional_user", "requires"]

SESSION_COOKIE = "tarif_session"


def get_host(request: Request) -> Host:
    return request.app.state.host


def get_users(request: Request) -> Users:
    return request.app.state.users


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE)


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
