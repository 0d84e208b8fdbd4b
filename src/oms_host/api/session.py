"""Logging in over the API: a session token (also set as a cookie), and who am I."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from oms_host.auth import Action, User
from oms_host.host import Host

from .security import SESSION_COOKIE, get_host, get_users, requires, set_cookie

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["auth"])
HostDep = Annotated[Host, Depends(get_host)]
Viewer = Annotated[User, Depends(requires(Action.VIEW))]


class Login(BaseModel):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


@router.post("/session", summary="Log in; returns a bearer token (also set as a cookie)")
def login(request: Request, credentials: Login, host: HostDep, users=Depends(get_users)) -> JSONResponse:  # noqa: B008
    if users.locked_out(credentials.username):
        raise HTTPException(429, "too many failed log-ins for this name; try again in a few minutes")
    user = users.authenticate(credentials.username, credentials.password)
    if user is None:
        raise HTTPException(401, "unknown user or wrong password")
    token = users.open_session(user, host.clock.now())
    response = JSONResponse({"token": token, "username": user.username, "role": user.role.value})
    set_cookie(response, request, SESSION_COOKIE, token)
    return response


@router.get("/me")
def me(user: Viewer) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role.value,
            "via_token": user.via_token}
