"""The FastAPI application factory."""

from __future__ import annotations

from fastapi import FastAPI

from oms_host.auth import Users
from oms_host.configure import Configurators
from oms_host.host import Host, open_host

from .errors import install_error_handlers
from .fulfilment import router as fulfilment_router
from .limits import install_limits
from .routes import router
from .security import SecuritySettings, install_browser_defences
from .session import router as session_router

__all__ = ["create_app"]


def create_app(host: Host | None = None, *, database_url: str | None = None, with_ui: bool = True,
               security: SecuritySettings | None = None) -> FastAPI:
    """The app over ``host`` (or a host opened on ``database_url``, migrated).

    ``security``: cookie and origin settings (default: from the environment,
    :meth:`SecuritySettings.from_env`); every request passes the CSRF checks of
    :mod:`oms_host.api.security`.
    """
    host = host or open_host(database_url)
    app = FastAPI(title="Tarif OMS", version="0.1.0",
                  description="Reference order management host app on the Tarif library: configure, price, "
                              "capture and follow orders. Amounts are decimal strings.")
    app.state.host = host
    app.state.users = Users(host.db)
    app.state.configurators = Configurators(host.bundle)
    install_error_handlers(app)
    install_browser_defences(app, security)
    install_limits(app)  # added last, so it runs first: a body too large is refused before anyone reads it
    app.include_router(session_router)
    app.include_router(router)
    app.include_router(fulfilment_router)
    if with_ui:
        from oms_host.web import install_ui

        install_ui(app)
    return app
