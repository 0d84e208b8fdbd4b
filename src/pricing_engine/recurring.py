"""Recurring charges: periods, trials, terms and day-based proration.

A service line carries charges of three kinds (:class:`ChargeKind`): one-time
(billed once, today), recurring (billed in advance every ``count`` × ``unit``)
and usage (billed in arrears per unit used). This module owns the calendar
arithmetic; the ``service_charges`` ruleset kind decides which charges a SKU has.

Schedule rules, in order:

1. The trial (``trial_days``) starts on the service start date; nothing recurring
   is billed before it ends. Paid service starts the day after the trial.
2. Without calendar alignment, billing periods start on the paid start date, so
   the first period is whole. With ``calendar`` alignment, period boundaries fall
   on calendar boundaries (1st of the month / quarter / year, Monday); the first,
   partial period runs from the paid start to the next boundary and is prorated
   by days: ``days in the partial period / days in the full period containing it``.
3. A term of ``n`` periods counts whole periods after the (possibly partial)
   first one when aligned, or from the paid start otherwise.

Month arithmetic keeps the anchor's day and clamps to the month's end
(31 Jan + 1 month = 28/29 Feb; + 2 months = 31 Mar).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from pricing_engine.rounding import DECIMAL_CONTEXT, in_decimal_context

__all__ = [
    "ChargeKind",
    "Period",
    "PeriodUnit",
    "Schedule",
    "add_periods",
    "calendar_boundary_before",
    "schedule",
]

_CTX = DECIMAL_CONTEXT


class ChargeKind(StrEnum):
    """What a charge is billed for."""

    ONE_TIME = "one_time"
    RECURRING = "recurring"
    USAGE = "usage"


class PeriodUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Period:
    """``count`` × ``unit``, e.g. ``Period(PeriodUnit.MONTH, 3)`` is a quarter.

    >>> Period(PeriodUnit.MONTH).label, Period(PeriodUnit.MONTH, 3).label
    ('month', '3 months')
    """

    unit: PeriodUnit
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"a period count must be at least 1, got {self.count}")

    @property
    def label(self) -> str:
        return self.unit.value if self.count == 1 else f"{self.count} {self.unit.value}s"

    def calendar_alignable(self) -> bool:
        """Whether calendar boundaries exist for this period (see the module doc)."""
        if self.unit is PeriodUnit.MONTH:
            return 12 % self.count == 0
        return self.count == 1


def add_periods(start: dt.date, period: Period, n: int) -> dt.date:
    """``start`` plus ``n`` periods (month ends clamp, anchored on ``start``'s day).

    >>> add_periods(dt.date(2026, 1, 31), Period(PeriodUnit.MONTH), 1)
    datetime.date(2026, 2, 28)
    >>> add_periods(dt.date(2026, 1, 31), Period(PeriodUnit.MONTH), 2)
    datetime.date(2026, 3, 31)
    """
    k = n * period.count
    if period.unit is PeriodUnit.DAY:
        return start + dt.timedelta(days=k)
    if period.unit is PeriodUnit.WEEK:
        return start + dt.timedelta(weeks=k)
    months = k if period.unit is PeriodUnit.MONTH else 12 * k
    y, m0 = divmod(start.month - 1 + months, 12)
    year, month = start.year + y, m0 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


def calendar_boundary_before(day: dt.date, period: Period) -> dt.date:
    """The calendar boundary on or before ``day`` for an alignable ``period``.

    >>> calendar_boundary_before(dt.date(2026, 5, 17), Period(PeriodUnit.MONTH, 3))
    datetime.date(2026, 4, 1)
    """
    if not period.calendar_alignable():
        raise ValueError(f"a {period.label} period has no calendar boundaries")
    if period.unit is PeriodUnit.DAY:
        return day
    if period.unit is PeriodUnit.WEEK:
        return day - dt.timedelta(days=day.weekday())
    if period.unit is PeriodUnit.YEAR:
        return dt.date(day.year, 1, 1)
    month = (day.month - 1) // period.count * period.count + 1
    return dt.date(day.year, month, 1)


@dataclass(frozen=True, slots=True)
class Schedule:
    """When a recurring charge is billed, and the first period's proration factor."""

    trial_end: dt.date | None  # last trial day, None without a trial
    paid_start: dt.date
    first_period_end: dt.date  # exclusive
    first_period_fraction: Decimal  # 1 for a whole period
    prorated_days: int
    period_days: int
    next_billing: dt.date  # start of the second period
    term_end: dt.date | None  # exclusive; None without a term


@in_decimal_context
def schedule(
    start: dt.date,
    period: Period,
    *,
    trial_days: int = 0,
    align_to_calendar: bool = False,
    term_periods: int | None = None,
) -> Schedule:
    """Compute the billing schedule of a recurring charge (rules in the module doc).

    A monthly plan aligned to the calendar, starting on 17 May: 15 of 31 days.

    >>> s = schedule(dt.date(2026, 5, 17), Period(PeriodUnit.MONTH), align_to_calendar=True)
    >>> s.prorated_days, s.period_days, s.next_billing
    (15, 31, datetime.date(2026, 6, 1))
    >>> schedule(dt.date(2026, 5, 17), Period(PeriodUnit.MONTH), trial_days=14).paid_start
    datetime.date(2026, 5, 31)
    """
    if trial_days < 0:
        raise ValueError("trial_days must not be negative")
    trial_end = start + dt.timedelta(days=trial_days - 1) if trial_days else None
    paid = start + dt.timedelta(days=trial_days)
    if align_to_calendar and period.unit is not PeriodUnit.DAY:
        full_start = calendar_boundary_before(paid, period)
        full_end = add_periods(full_start, period, 1)
    else:
        full_start, full_end = paid, add_periods(paid, period, 1)
    period_days = (full_end - full_start).days
    days = (full_end - paid).days
    fraction = Decimal(1) if days == period_days else _CTX.divide(Decimal(days), Decimal(period_days))
    term_end = None
    if term_periods is not None:
        if term_periods < 1:
            raise ValueError("a term must be at least one period")
        base = full_end if days != period_days else paid
        term_end = add_periods(base, period, term_periods)
    return Schedule(trial_end, paid, full_end, fraction, days, period_days, full_end, term_end)
