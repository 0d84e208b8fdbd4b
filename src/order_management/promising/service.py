"""The imperative shell of promising: read a snapshot, plan, commit with compare-and-set.

- :func:`check_availability` — what-if: plans against the store, writes nothing.
- :func:`promise` — plans and reserves in one step; on a compare-and-set
  conflict (someone reserved the same supply meanwhile) it plans again
  against a fresh snapshot, so the answer is always the best one at the
  moment of writing. Two concurrent promises for the last unit: one gets it,
  the other a clean backorder.
- :func:`reserve` — commits a plan obtained earlier from
  :func:`check_availability`, exactly as shown to the customer, if supply
  still allows it; otherwise :class:`PlanNoLongerAvailableError` says which
  lines lost their supply (promise again).
- :func:`repromise` — promises a revised order again as if its current
  reservation were free, and swaps the old reservation for the new one in one
  atomic write: the order never lets go of its units meanwhile.
- :func:`release` — gives reserved supply back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from .atp import build_picture
from .errors import (
    PlanNoLongerAvailableError,
    PromisingInputError,
    ReservationConflictError,
    UnknownNameError,
    VersionConflictError,
)
from .models import DemandRequest
from .planner import plan_promise
from .results import AvailabilitySnapshot, Commitment, Promise, PromisePlan, Reservation
from .rules import PromisingRules
from .store import ReservationStore

__all__ = ["check_availability", "find_shortfalls", "promise", "release", "repromise", "reserve"]

#: Compare-and-set attempts before giving up; each failed one means another writer succeeded.
DEFAULT_ATTEMPTS = 64


def check_availability(store: ReservationStore, request: DemandRequest, rules: PromisingRules, *,
                       as_of: dt.date) -> PromisePlan:
    """The plan :func:`promise` would make now, without reserving anything."""
    return plan_promise(request, store.snapshot(request.items), rules, as_of)


def promise(store: ReservationStore, request: DemandRequest, rules: PromisingRules, *, as_of: dt.date,
            reservation_id: str, max_attempts: int = DEFAULT_ATTEMPTS) -> Promise:
    """Plan ``request`` and reserve the plan atomically under ``reservation_id``.

    Backordered quantities are part of the answer, not reserved. Raises
    :class:`ReservationConflictError` only if ``max_attempts`` successive
    compare-and-set attempts lost to other writers.
    """
    _check_attempts(max_attempts)
    for attempt in range(1, max_attempts + 1):
        snapshot = store.snapshot(request.items)
        plan = plan_promise(request, snapshot, rules, as_of)
        reservation = Reservation(reservation_id, request.reference, plan.commitments, plan.planned)
        try:
            store.reserve(reservation, {k: snapshot.version(k) for k in plan.keys})
        except VersionConflictError:
            continue
        return Promise(reservation, plan, attempt)
    raise ReservationConflictError(max_attempts)


def repromise(store: ReservationStore, request: DemandRequest, rules: PromisingRules, *, as_of: dt.date,
              reservation_id: str, max_attempts: int = DEFAULT_ATTEMPTS) -> Promise:
    """Promise a revised order again, as if its current reservation were free, and swap atomically.

    The order keeps its units while it is re-planned: nobody can take them
    between the old reservation and the new one (the store replaces one with
    the other in a single compare-and-set write). Without a current
    reservation under ``reservation_id`` this is :func:`promise`.
    """
    _check_attempts(max_attempts)
    for attempt in range(1, max_attempts + 1):
        try:
            current = store.get(reservation_id)
        except UnknownNameError:
            return promise(store, request, rules, as_of=as_of, reservation_id=reservation_id,
                           max_attempts=max_attempts)
        items = sorted({*request.items, *(c.item for c in current.commitments)})
        snapshot = store.snapshot(items)
        try:
            free = snapshot.without(current.commitments)
        except ValueError:  # the reservation changed between the two reads
            continue
        plan = plan_promise(request, free, rules, as_of)
        reservation = Reservation(reservation_id, request.reference, plan.commitments, plan.planned)
        keys = sorted({*plan.keys, *current.keys})
        try:
            store.reserve(reservation, {k: snapshot.version(k) for k in keys}, replaces=current)
        except VersionConflictError:
            continue
        return Promise(reservation, plan, attempt)
    raise ReservationConflictError(max_attempts)


def find_shortfalls(commitments: Sequence[Commitment], snapshot: AvailabilitySnapshot, rules: PromisingRules,
                    as_of: dt.date) -> tuple[tuple[str, str, str, int], ...]:
    """Which of ``commitments`` the snapshot's free supply no longer covers (pure).

    Each shortfall is ``(line_id, item, location, missing units)``; empty
    means all of them can be committed together, as they are.
    """
    pictures = {}
    missing: dict[tuple[str, str, str], int] = {}
    for commitment in commitments:
        key = commitment.key
        if key not in pictures:
            pictures[key] = build_picture(key[0], key[1], snapshot.position(key), snapshot.committed(key),
                                          rules.shares(*key), as_of)
        units = pictures[key].commit(commitment.pool, commitment.demand_class, commitment.backed_by,
                                     commitment.quantity)
        if units:
            slot = (commitment.line_id, *key)
            missing[slot] = missing.get(slot, 0) + units
    return tuple((line, item, loc, units) for (line, item, loc), units in missing.items())


def reserve(store: ReservationStore, plan: PromisePlan, rules: PromisingRules, *, as_of: dt.date,
            reservation_id: str, max_attempts: int = DEFAULT_ATTEMPTS) -> Reservation:
    """Commit a what-if ``plan`` exactly as it stands, if supply still covers it."""
    _check_attempts(max_attempts)
    if as_of > plan.as_of and any(c.ship_on < as_of for c in plan.commitments):
        raise PromisingInputError(f"the plan was made on {plan.as_of} and ships before {as_of}; "
                                  "promise again", ("as_of",))
    items = sorted({c.item for c in plan.commitments})
    reservation = Reservation(reservation_id, plan.reference, plan.commitments, plan.planned)
    for _ in range(max_attempts):
        snapshot = store.snapshot(items)
        shortfalls = find_shortfalls(plan.commitments, snapshot, rules, as_of)
        if shortfalls:
            raise PlanNoLongerAvailableError(shortfalls)
        try:
            store.reserve(reservation, {k: snapshot.version(k) for k in plan.keys})
        except VersionConflictError:
            continue
        return reservation
    raise ReservationConflictError(max_attempts)


def release(store: ReservationStore, reservation_id: str, line_ids: Iterable[str] | None = None) -> Reservation:
    """Give the supply of a reservation (or of some of its lines) back; returns what was released."""
    return store.release(reservation_id, line_ids)


def _check_attempts(max_attempts: int) -> None:
    if max_attempts < 1:
        raise PromisingInputError("max_attempts must be at least 1", ("max_attempts",))
