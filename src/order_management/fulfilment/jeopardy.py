"""Jeopardy: will each open line make its promised date? Pure projections and alert bookkeeping.

A line's projected completion is where its track's promise point (the ship
step for goods, activation for services) is expected to finish: done steps
count at their actual times, the active step at its planned end or the
carrier's new estimate, pending steps add their planned durations (see
:func:`process.projected_completion`). ``days_late`` is that date minus the
promised date. Whether that is a jeopardy, and with what priority, is for the
``jeopardy`` event rules to say; :func:`reconcile` turns their answer into
alerts raised, re-prioritised and cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..model import LineStatus, Order
from .event_rules import Priority
from .process import ProcessDefinition, Track, projected_completion
from .records import JeopardyAlert

__all__ = ["LineProjection", "project_lines", "reconcile"]

_CLOSED = (LineStatus.DELIVERED, LineStatus.CANCELLED)


@dataclass(frozen=True)
class LineProjection:
    line_id: str
    step: str | None
    projected: dt.date
    promised: dt.date | None

    @property
    def days_late(self) -> int:
        """Days past the promise (negative: early); 0 when nothing was promised."""
        return (self.projected - self.promised).days if self.promised else 0


def project_lines(process: ProcessDefinition, track: Track, order: Order, now: dt.datetime) -> list[LineProjection]:
    """Projections for the track's open lines (not delivered or cancelled; track still running)."""
    if track.done:
        return []
    projected = projected_completion(process, track, now).date()
    active = track.active
    out = []
    for line_id in track.line_ids:
        line = order.line(line_id)
        if line.status in _CLOSED:
            continue
        out.append(LineProjection(line_id, active.step_id if active else None, projected, line.promised_date))
    return out


def reconcile(order_id: str, current: Sequence[JeopardyAlert], projections: Mapping[str, LineProjection],
              verdicts: Mapping[str, tuple[Priority, str]], now: dt.datetime,
              ) -> tuple[tuple[JeopardyAlert, ...], list[tuple[JeopardyAlert | None, JeopardyAlert | None]]]:
    """The order's alerts after this scan, and each change as (before, after).

    ``verdicts`` maps a line to the highest priority a jeopardy rule gave it
    (and that rule). A line with a verdict gets (or keeps, re-prioritised) an
    alert; a line without one that had an alert has recovered: it is cleared.
    """
    by_line = {a.line_id: a for a in current}
    alerts: list[JeopardyAlert] = []
    changes: list[tuple[JeopardyAlert | None, JeopardyAlert | None]] = []
    for line_id, projection in projections.items():
        before = by_line.pop(line_id, None)
        verdict = verdicts.get(line_id)
        if verdict is None or projection.promised is None:
            if before is not None:
                changes.append((before, None))
            continue
        priority, rule = verdict
        after = JeopardyAlert(order_id, line_id, priority, rule, projection.days_late, projection.projected,
                              projection.promised, before.raised_at if before else now)
        alerts.append(after)
        if before is None or (before.priority, before.days_late) != (after.priority, after.days_late):
            changes.append((before, after))
    changes.extend((gone, None) for gone in by_line.values())  # lines no longer open
    return tuple(alerts), changes
