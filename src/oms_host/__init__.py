"""oms_host: the reference OMS host app on the Tarif library (see ``docs/host-app.md``).

The public names load on first use, so the ``tarif`` command line (which
imports this package) does not pay for SQLAlchemy, FastAPI or Jinja2 when it
only checks rulesets.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Database", "Host", "SqlReservationStore", "create_app", "open_host"]

_WHERE = {"Database": "oms_host.storage", "SqlReservationStore": "oms_host.storage", "Host": "oms_host.host",
          "open_host": "oms_host.host", "create_app": "oms_host.api"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'oms_host' has no attribute {name!r}")
