"""The host app's HTTP side: :func:`create_app` builds the FastAPI app (JSON API + order-desk UI).

The OpenAPI description is at ``/openapi.json`` and browsable at ``/docs``.
"""

from .app import create_app

__all__ = ["create_app"]
