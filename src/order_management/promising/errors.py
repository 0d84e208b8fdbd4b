"""The promising package's exception tree.

One base, :class:`PromisingError`, split by what the caller can do:

- bad input (a quantity below one, a line that names an unknown item, rules
  whose shares exceed 100 %): :class:`PromisingInputError` (``ValueError``),
  carrying a pydantic-style ``loc`` path such as ``("lines", 2, "quantity")``;
- a name that does not exist (location, reservation): :class:`UnknownNameError`
  (``LookupError``), with a did-you-mean where one exists;
- a rule that could not be evaluated for this request:
  :class:`SourcingRuleError` (``ValueError``), naming the rule;
- the store refused a write: :class:`VersionConflictError` (someone changed
  the supply or reservations since the snapshot; plan again),
  :class:`PlanNoLongerAvailableError` (a what-if plan can no longer be
  reserved as it stands), :class:`DuplicateReservationError`, and
  :class:`OversellError` (the store's own last-line guard; seeing it means a
  bug, never a normal shortage — shortages are answers, not errors).

A shortage is never an exception: it is a backordered line in the answer.
:class:`PromisingError` is an :class:`~order_management.errors.OrderError`, so
a caller catching the order layer's errors catches these too.
"""

from __future__ import annotations

from order_management.errors import OrderError

__all__ = [
    "DuplicateReservationError",
    "OversellError",
    "PlanNoLongerAvailableError",
    "PromisingError",
    "PromisingInputError",
    "ReservationConflictError",
    "SourcingRuleError",
    "UnknownNameError",
    "VersionConflictError",
]


class PromisingError(OrderError):
    """Base of every error raised by :mod:`order_management.promising`."""


class PromisingInputError(PromisingError, ValueError):
    """A request or supply record that cannot be promised as given; ``loc`` says where."""

    def __init__(self, message: str, loc: tuple[str | int, ...] = ()) -> None:
        self.loc = loc
        self.message = message
        where = ".".join(str(p) for p in loc)
        super().__init__(f"{where}: {message}" if where else message)


class UnknownNameError(PromisingError, LookupError):
    """A location, item or reservation that does not exist (the message suggests a near name)."""


class SourcingRuleError(PromisingError, ValueError):
    """A sourcing or demand-class rule could not be evaluated for this request."""


class VersionConflictError(PromisingError, RuntimeError):
    """Compare-and-set failed: a supply key changed since the snapshot the plan was built on.

    ``keys`` lists the ``(item, location)`` pairs whose version differed. The
    write was not applied; take a new snapshot and plan again.
    """

    def __init__(self, keys: tuple[tuple[str, str], ...]) -> None:
        self.keys = keys
        listed = ", ".join(f"{i}@{loc}" for i, loc in keys)
        super().__init__(f"supply changed since the snapshot for {listed}; plan again")


class ReservationConflictError(PromisingError, RuntimeError):
    """``promise`` kept losing compare-and-set races and gave up after ``attempts`` tries."""

    def __init__(self, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(f"gave up after {attempts} conflicting attempts; retry later")


class PlanNoLongerAvailableError(PromisingError, ValueError):
    """A what-if plan cannot be reserved as it stands: supply was taken meanwhile.

    ``shortfalls`` lists ``(line_id, item, location, missing_quantity)``.
    Promise again to get the current best answer.
    """

    def __init__(self, shortfalls: tuple[tuple[str, str, str, int], ...]) -> None:
        self.shortfalls = shortfalls
        text = "; ".join(f"line {ln}: {q} x {item} no longer available at {loc}"
                         for ln, item, loc, q in shortfalls)
        super().__init__(f"the plan can no longer be reserved: {text}")


class DuplicateReservationError(PromisingError, ValueError):
    """A reservation id that the store already holds (ids are idempotency keys)."""


class OversellError(PromisingError, RuntimeError):
    """The store's last-line guard: a write would commit more than the location's supply."""
