"""Order versions and the readable difference between two of them.

Every change to an order produces a new version; the history keeps each
version with who changed it, when, why, and the field-by-field diff. Lines are
matched by ``line_id`` (not position), so removing line 1 does not read as
"every other line changed".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

from .model import Order

__all__ = ["Change", "Revision", "diff", "render_diff"]

_IGNORED = frozenset({"version"})


@dataclass(frozen=True)
class Change:
    """One changed field: its path, and the value before and after (None: absent)."""

    path: str
    before: Any
    after: Any
    field_key: str           # the path without indices, e.g. "lines.quantity", "ship_to"
    line_index: int | None = None

    def __str__(self) -> str:
        if self.before is None:
            return f"{self.path}: added {_show(self.after)}"
        if self.after is None:
            return f"{self.path}: removed {_show(self.before)}"
        return f"{self.path}: {_show(self.before)} → {_show(self.after)}"


@dataclass(frozen=True)
class Revision:
    """One saved version of an order."""

    version: int
    at: dt.datetime
    actor: str
    reason: str
    changes: tuple[Change, ...]
    order: Order


def _show(value: Any) -> str:
    if isinstance(value, BaseModel):
        data = value.model_dump(exclude_defaults=True, mode="json")
        return "{" + ", ".join(f"{k}: {v}" for k, v in data.items()) + "}"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _walk(before: Any, after: Any, path: str, key: str, line_index: int | None, out: list[Change]) -> None:
    if before == after:
        return
    if isinstance(before, BaseModel) and isinstance(after, BaseModel) and type(before) is type(after):
        for name in type(before).model_fields:
            if name in _IGNORED:
                continue
            _walk(getattr(before, name), getattr(after, name), f"{path}.{name}" if path else name,
                  f"{key}.{name}" if key else name, line_index, out)
        return
    if isinstance(before, dict) and isinstance(after, dict):
        for name in sorted(set(before) | set(after)):
            _walk(before.get(name), after.get(name), f"{path}.{name}", f"{key}", line_index, out)
        return
    out.append(Change(path, before, after, key, line_index))


def diff(before: Order, after: Order) -> list[Change]:
    """Field-by-field changes from ``before`` to ``after`` (lines matched by ``line_id``).

    >>> from order_management.model import Order, OrderLine
    >>> a = Order(order_id="SO-1", customer_id="C1", currency="EUR",
    ...           lines=[OrderLine(line_id="1", sku="DESK", quantity=2)])
    >>> b = a.model_copy(update={"lines": (a.lines[0].model_copy(update={"quantity": 5}),)})
    >>> [str(c) for c in diff(a, b)]
    ['lines[0].quantity: 2 → 5']
    """
    out: list[Change] = []
    for name in Order.model_fields:
        if name in _IGNORED or name == "lines":
            continue
        _walk(getattr(before, name), getattr(after, name), name, name, None, out)
    old_lines = {line.line_id: (i, line) for i, line in enumerate(before.lines)}
    new_lines = {line.line_id: (i, line) for i, line in enumerate(after.lines)}
    for line_id, (index, line) in old_lines.items():
        if line_id in new_lines:
            _walk(line, new_lines[line_id][1], f"lines[{index}]", "lines", index, out)
        else:
            out.append(Change(f"lines[{index}]", line, None, "lines", index))
    for line_id, (index, line) in new_lines.items():
        if line_id not in old_lines:
            out.append(Change(f"lines[{index}]", None, line, "lines", None))
    return out


def render_diff(changes: list[Change]) -> str:
    """One change per line, as the order history shows it."""
    return "\n".join(str(c) for c in changes) or "(no changes)"
