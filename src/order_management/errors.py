"""The order layer's exception tree.

Errors about an order carry field paths in pydantic's style
(``orders[3].lines[2].quantity``) so a user interface or an importing system can
point at the exact field. Validation collects every problem before raising.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "ConcurrentUpdateError",
    "DuplicateOrderError",
    "FieldProblem",
    "FulfilmentNotConfiguredError",
    "NotPermittedError",
    "OrderError",
    "OrderNotFoundError",
    "OrderValidationError",
    "ProcessingConstraintError",
    "Severity",
]


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one field of an order (or of an imported record)."""

    path: str
    message: str
    rule: str | None = None
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        origin = f" [{self.rule}]" if self.rule else ""
        label = "" if self.severity == Severity.ERROR else "warning: "
        return f"{self.path}: {label}{self.message}{origin}"


class OrderError(Exception):
    """Base of every error raised by :mod:`order_management`."""


class OrderValidationError(OrderError, ValueError):
    """The order (or import record) is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems) or "invalid order")


class ProcessingConstraintError(OrderError, PermissionError):
    """A change is not allowed in the order's current status (e.g. ship-to after shipping)."""

    def __init__(self, problems: Sequence[FieldProblem]) -> None:
        self.problems = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


class OrderNotFoundError(OrderError, LookupError):
    """No order with that id (or source system and external reference)."""


class DuplicateOrderError(OrderError, ValueError):
    """An order with this id, or this source system and external reference, exists."""


class ConcurrentUpdateError(OrderError, RuntimeError):
    """Someone else saved a newer version of the order first; reload and retry.

    ``changes`` says what the newer versions changed (``lines[1].quantity: 2 → 3``),
    when it is known, so the caller can see what they did not read.
    """

    def __init__(self, message: str, changes: Sequence[str] = ()) -> None:
        self.changes = tuple(changes)
        super().__init__(message + (": " + "; ".join(self.changes) if self.changes else ""))


class NotPermittedError(OrderError, PermissionError):
    """The actor may not do this (four eyes, an approval another role must give, an outside event)."""


class FulfilmentNotConfiguredError(OrderError, LookupError):
    """The order layer runs without ``process`` rulesets, so nothing can start fulfilment."""
