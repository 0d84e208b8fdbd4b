"""Request bodies are the commands' own schemas, less what the server fills in.

A route's body is :func:`body_of` its command: the same fields, types, limits
and descriptions (one model per idea), without ``actor`` (the authenticated
user) and without the ids the URL carries. So the API can neither drift from
the library nor accept a field the command would refuse.

>>> from order_management import commands as cmd
>>> sorted(body_of(cmd.PlaceHold, "order_id").model_fields)
['reason']
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from order_management.commands import Command

__all__ = ["body_of", "command_from"]

_SERVER_FILLED = ("actor", "roles")


def body_of(command: type[Command], *from_url: str) -> type[BaseModel]:
    """The request body for ``command``: its fields less ``actor``, approval roles and ``from_url``."""
    left_out = {*_SERVER_FILLED, *from_url}
    fields: dict[str, Any] = {name: (info.annotation, info) for name, info in command.model_fields.items()
                              if name not in left_out}
    return create_model(f"{command.__name__}Body", __config__=ConfigDict(extra="forbid"), **fields)


def command_from(command: type[Command], body: BaseModel, **server: Any) -> Any:
    """``command`` from a parsed body and what the server fills in (actor, ids from the URL)."""
    return command.model_validate({**body.model_dump(exclude_unset=True), **server})
