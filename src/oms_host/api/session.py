"""Logging in over the API: a session token (also set as a cookie), and who am I."""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from oms_host.auth import Action, LoginThrottled, User, Users
from oms_host.host import Host

from .security import SESSION_COOKIE, client_address, get_host, get_users, requires, set_cookie

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["auth"])
HostDep = Annotated[Host, Depends(get_host)]
Viewer = Annotated[User, Depends(requires(Action.VIEW))]


class Login(BaseModel):
    username: str = Field(min_length=1)
    password: str = Field(min_length=1)


@router.post("/session", summary="Log in; returns a bearer token (also set as a cookie)",
             responses={429: {"description": "too many failed log-ins (per name, address or server) or the "
                                             "server is busy checking others; see Retry-After"}})
async def login(request: Request, credentials: Login, host: HostDep,
                users: Users = Depends(get_users)) -> JSONResponse:  # noqa: B008
    try:
        user = await users.authenticate_async(credentials.username, credentials.password, client_address(request))
    except LoginThrottled as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": str(math.ceil(exc.retry_after))}) from exc
    if user is None:
        raise HTTPException(401, "unknown user or wrong password")
    token = await run_in_threadpool(users.open_session, user, host.clock.now())
    response = JSONResponse({"token": token, "username": user.username, "role": user.role.value})
    set_cookie(response, request, SESSION_COOKIE, token)
    return response


@router.get("/me")
def me(user: Viewer) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "role": user.role.value,
            "via_token": user.via_token}
