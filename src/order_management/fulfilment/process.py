"""Process definitions (ruleset kind ``process``) and the pure step machine that runs them.

A process is a list of steps with planned durations — ``reserve → schedule →
pick → ship → invoice`` for goods, ``provision → activate → bill`` for
services — run once per line or once per order (``scope``). Which process a
line follows is chosen by rules: the first process whose ``applies_when`` holds
for the line (rule-language text over ``line.*``, ``order.*`` and
``customer.*``).

A step starts when the one before it is done; starting may send a command to
the world (``on_start: request_shipment``), and a step that sent one knows how
to take it back (``compensate: cancel_shipment_request``). A step is done when
its ``completes_on`` event arrives (``auto`` steps complete as they start).
A change order re-plans a track from its ``replan_from`` step: commands sent by
steps from there on are compensated, those steps start again, and the steps
before are kept as done.

Everything below :class:`ProcessCatalogue` is pure: functions of a track, an
event and a time, returning the new track and the commands to send.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rule_language import (
    BOOLEAN,
    CompileContext,
    CompiledExpression,
    EvaluationError,
    LinkContext,
    LoadedRuleset,
    RulesetBundle,
    RulesetHeader,
    RulesetKind,
)

from ..context import LINE_SCHEMA, line_env, order_env
from ..model import Customer, Order
from .errors import StepTransitionError

__all__ = [
    "PROCESS_KIND",
    "Command",
    "CommandKind",
    "EventType",
    "ProcessCatalogue",
    "ProcessDefinition",
    "ProcessFile",
    "Scope",
    "StepDefinition",
    "StepRun",
    "StepState",
    "StepStatus",
    "Track",
    "activate_from",
    "cancel_track",
    "complete_step",
    "delay",
    "process_catalogue_from",
    "projected_completion",
    "replan",
    "start_track",
]


class Scope(StrEnum):
    LINE = "line"    # one track per order line
    ORDER = "order"  # one track for every line of the order that chose this process


class EventType(StrEnum):
    """What the world tells us; each may complete a step (see ``completes_on``)."""

    STEP_COMPLETED = "step_completed"          # a named step is done (scheduled, picked, provisioned...)
    SHIPMENT_CONFIRMED = "shipment_confirmed"  # the carrier has the goods
    SHIPMENT_DELAYED = "shipment_delayed"      # the carrier expects them later (``expected_at``)
    DELIVERED = "delivered"
    PAYMENT_CAPTURED = "payment_captured"
    AUTO = "auto"                              # completes as it starts


class CommandKind(StrEnum):
    """What a step asks the world to do when it starts, and its compensations."""

    REQUEST_SHIPMENT = "request_shipment"
    CANCEL_SHIPMENT_REQUEST = "cancel_shipment_request"
    REQUEST_PICK = "request_pick"
    CANCEL_PICK = "cancel_pick"
    ISSUE_INVOICE = "issue_invoice"
    CANCEL_INVOICE = "cancel_invoice"
    PROVISION_SERVICE = "provision_service"
    DEPROVISION_SERVICE = "deprovision_service"
    START_BILLING = "start_billing"
    STOP_BILLING = "stop_billing"


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    duration_days: Decimal = Field(ge=0, description="planned duration; fractions are hours (0.5 = 12 h)")
    completes_on: EventType = EventType.STEP_COMPLETED
    on_start: CommandKind | None = None
    compensate: CommandKind | None = None
    promise_point: bool = Field(False, description="the promised date is for this step's completion")

    @model_validator(mode="after")
    def _compensation_needs_a_command(self) -> StepSpec:
        if self.compensate is not None and self.on_start is None:
            raise ValueError("`compensate` undoes the step's `on_start` command; this step sends none")
        if self.completes_on == EventType.SHIPMENT_DELAYED:
            raise ValueError("a delay does not complete a step; use shipment_confirmed")
        return self


class ProcessSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str = Field(pattern=r"^[a-z][a-z0-9_\-]*$")
    description: str | None = None
    scope: Scope = Scope.LINE
    applies_when: str | None = Field(None, description="rule text over line.*, order.*, customer.*; none: always")
    replan_from: str | None = Field(None, description="the step a change order restarts from; none: the first")
    steps: list[StepSpec] = Field(min_length=1)


class ProcessFile(RulesetHeader):
    processes: list[ProcessSpec] = Field(min_length=1)


@dataclass(frozen=True)
class StepDefinition:
    id: str
    duration: dt.timedelta
    completes_on: EventType
    on_start: CommandKind | None
    compensate: CommandKind | None


@dataclass(frozen=True)
class ProcessDefinition:
    """A compiled process: its steps, where a change re-plans from, and when it applies."""

    id: str
    scope: Scope
    steps: tuple[StepDefinition, ...]
    replan_index: int
    promise_index: int
    applies_when: CompiledExpression | None
    source: str

    def index(self, step_id: str) -> int:
        for i, step in enumerate(self.steps):
            if step.id == step_id:
                return i
        raise StepTransitionError(f"process {self.id} has no step {step_id!r}")

    @property
    def planned(self) -> dt.timedelta:
        return sum((s.duration for s in self.steps), dt.timedelta())


@dataclass(frozen=True)
class ProcessCatalogue:
    """Every process of a bundle, in file order; the first that applies to a line wins."""

    processes: tuple[ProcessDefinition, ...]

    def get(self, process_id: str) -> ProcessDefinition:
        for process in self.processes:
            if process.id == process_id:
                return process
        raise LookupError(f"no process {process_id!r}")

    def choose(self, order: Order, customer: Customer, as_of: dt.date) -> dict[str, ProcessDefinition]:
        """The process of each line of ``order``; raises :class:`StepTransitionError` when none applies."""
        base = order_env(order, customer, as_of)
        chosen: dict[str, ProcessDefinition] = {}
        for index, line in enumerate(order.lines):
            env = line_env(base, line)
            for process in self.processes:
                try:
                    if process.applies_when is None or process.applies_when.evaluate(env):
                        chosen[line.line_id] = process
                        break
                except EvaluationError as exc:
                    raise StepTransitionError(
                        f"lines[{index}]: the condition of process {process.id} could not be evaluated: "
                        f"{exc.message} [{process.source}]") from None
            else:
                raise StepTransitionError(f"lines[{index}]: no process applies to line {line.line_id} "
                                          f"({line.kind.value} {line.sku})")
        return chosen

    def plan(self, order: Order, customer: Customer, as_of: dt.date) -> list[tuple[ProcessDefinition, tuple[str, ...]]]:
        """The tracks to run: (process, line ids) — one per line, or one per order-scope process."""
        plan: list[tuple[ProcessDefinition, tuple[str, ...]]] = []
        grouped: dict[str, list[str]] = {}
        chosen = self.choose(order, customer, as_of)
        for line in order.lines:
            process = chosen[line.line_id]
            if process.scope == Scope.LINE:
                plan.append((process, (line.line_id,)))
            else:
                if process.id not in grouped:
                    grouped[process.id] = []
                    plan.append((process, ()))
                grouped[process.id].append(line.line_id)
        return [(p, ids or tuple(grouped[p.id])) for p, ids in plan]


# -- the pure step machine ------------------------------------------------------------
class StepStatus(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    DONE = "done"


@dataclass(frozen=True)
class Command:
    """A request to the world, sent when a step starts (or a compensation of one)."""

    kind: CommandKind
    track_id: str
    step_id: str
    line_ids: tuple[str, ...]
    at: dt.datetime
    compensates: str | None = None  # the command_id this one takes back

    @property
    def command_id(self) -> str:
        return f"{self.track_id}/{self.step_id}/{self.kind.value}@{self.at.isoformat()}"


@dataclass(frozen=True)
class StepState:
    step_id: str
    status: StepStatus = StepStatus.PENDING
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None
    expected_at: dt.datetime | None = None   # set by a delay event: the world's new estimate
    sent: str | None = None                  # the command_id sent on start, until compensated


@dataclass(frozen=True)
class StepRun:
    """A finished or superseded run of a step, kept when a change re-plans the track."""

    step_id: str
    started_at: dt.datetime | None
    completed_at: dt.datetime | None
    outcome: str  # "done" or "superseded"


@dataclass(frozen=True)
class Track:
    """One run of a process: for one line, or for the order's lines in an order-scope process."""

    track_id: str
    process_id: str
    line_ids: tuple[str, ...]
    steps: tuple[StepState, ...]
    history: tuple[StepRun, ...] = ()
    cancelled: bool = False

    @property
    def active(self) -> StepState | None:
        return next((s for s in self.steps if s.status == StepStatus.ACTIVE), None)

    @property
    def done(self) -> bool:
        return self.cancelled or all(s.status == StepStatus.DONE for s in self.steps)

    def step(self, step_id: str) -> StepState:
        for state in self.steps:
            if state.step_id == step_id:
                return state
        raise StepTransitionError(f"track {self.track_id} has no step {step_id!r}")


def start_track(process: ProcessDefinition, track_id: str, line_ids: tuple[str, ...],
                at: dt.datetime) -> tuple[Track, list[Command]]:
    """A new track with its first step started (and any ``auto`` steps after it run through)."""
    track = Track(track_id, process.id, line_ids, tuple(StepState(s.id) for s in process.steps))
    return activate_from(process, track, 0, at)


def activate_from(process: ProcessDefinition, track: Track, index: int,
                  at: dt.datetime) -> tuple[Track, list[Command]]:
    """Start step ``index`` (sending its command); ``auto`` steps complete at once and the next one starts."""
    commands: list[Command] = []
    steps = list(track.steps)
    history = list(track.history)
    while index < len(steps):
        spec = process.steps[index]
        sent = None
        if spec.on_start is not None:
            command = Command(spec.on_start, track.track_id, spec.id, track.line_ids, at)
            commands.append(command)
            sent = command.command_id
        if spec.completes_on == EventType.AUTO:
            steps[index] = StepState(spec.id, StepStatus.DONE, at, at, None, sent)
            history.append(StepRun(spec.id, at, at, "done"))
            index += 1
            continue
        steps[index] = StepState(spec.id, StepStatus.ACTIVE, at, None, None, sent)
        break
    return replace(track, steps=tuple(steps), history=tuple(history)), commands


#: Events that also complete the steps before theirs: goods the carrier has were picked. A payment
#: completes only a step that waits for it now — it never ships a line that was not picked.
_SKIPS_AHEAD = frozenset({EventType.SHIPMENT_CONFIRMED, EventType.DELIVERED})


def complete_step(process: ProcessDefinition, track: Track, event: EventType, step_id: str | None,
                  at: dt.datetime) -> tuple[Track, list[Command]]:
    """Complete the active step that ``event`` (and ``step_id``, for ``step_completed``) names.

    Raises :class:`StepTransitionError` when the track has no such active step.
    A confirmed shipment or delivery also completes the steps before it that the
    world skipped telling us about (a carrier confirming means the goods were
    picked).
    """
    active = track.active
    if active is None:
        raise StepTransitionError(f"track {track.track_id} has no active step")
    target = _target(process, track, event, step_id)
    index_active = process.index(active.step_id)
    if target < index_active:
        raise StepTransitionError(f"step {process.steps[target].id} of track {track.track_id} is already done")
    if target > index_active and event not in _SKIPS_AHEAD:
        raise StepTransitionError(f"step {process.steps[target].id} of track {track.track_id} has not started; "
                                  f"{active.step_id} is active")
    steps = list(track.steps)
    for i in range(index_active, target + 1):
        state = steps[i]
        steps[i] = replace(state, status=StepStatus.DONE, started_at=state.started_at or at, completed_at=at)
    history = track.history + tuple(StepRun(s.step_id, s.started_at, s.completed_at, "done")
                                    for s in steps[index_active:target + 1])
    done = replace(track, steps=tuple(steps), history=history)
    return activate_from(process, done, target + 1, at)


def _target(process: ProcessDefinition, track: Track, event: EventType, step_id: str | None) -> int:
    if event == EventType.STEP_COMPLETED:
        if step_id is None:
            raise StepTransitionError("a step_completed event names its step")
        index = process.index(step_id)
        waits_for = process.steps[index].completes_on
        if waits_for not in (EventType.STEP_COMPLETED, EventType.AUTO):
            raise StepTransitionError(f"step {step_id} of process {process.id} completes on {waits_for.value}, "
                                      "not on a step_completed event")
        return index
    for i, spec in enumerate(process.steps):
        if spec.completes_on == event and track.steps[i].status != StepStatus.DONE:
            return i
    raise StepTransitionError(f"no open step of process {process.id} completes on {event.value}")


def delay(process: ProcessDefinition, track: Track, expected_at: dt.datetime) -> Track:
    """Record the carrier's new estimate on the open step a shipment confirmation would complete."""
    index = _target(process, track, EventType.SHIPMENT_CONFIRMED, None)
    steps = list(track.steps)
    steps[index] = replace(steps[index], expected_at=expected_at)
    return replace(track, steps=tuple(steps))


def replan(process: ProcessDefinition, track: Track, at: dt.datetime,
           restart: bool = True) -> tuple[Track, list[Command]]:
    """Re-plan ``track`` after a change: compensate and restart from ``replan_from``.

    Steps before the re-plan point stay done. Every step from there on that
    sent a command gets its compensation sent (a shipment request already sent
    is cancelled); those steps' runs move to the history as superseded, and the
    re-plan step starts again — unless ``restart`` is false (the order is held
    or awaits approval): then it waits, pending, to be started.
    """
    commands: list[Command] = []
    steps = list(track.steps)
    history = list(track.history)
    start = process.replan_index
    if all(s.status == StepStatus.PENDING for s in steps[start:]):
        return track, []  # not there yet: the plan from here on is still the plan
    for i in range(len(steps) - 1, start - 1, -1):
        state, spec = steps[i], process.steps[i]
        if state.status == StepStatus.PENDING:
            continue
        if state.sent is not None and spec.compensate is not None:
            commands.append(Command(spec.compensate, track.track_id, spec.id, track.line_ids, at, state.sent))
        history.append(StepRun(spec.id, state.started_at, state.completed_at, "superseded"))
        steps[i] = StepState(spec.id)
    reset = replace(track, steps=tuple(steps), history=tuple(history))
    if not restart:
        return reset, commands
    restarted, started = activate_from(process, reset, start, at)
    return restarted, commands + started


def cancel_track(process: ProcessDefinition, track: Track, at: dt.datetime) -> tuple[Track, list[Command]]:
    """Stop a track (its line was removed or the order cancelled), compensating what it sent."""
    commands = [Command(spec.compensate, track.track_id, spec.id, track.line_ids, at, state.sent)
                for spec, state in zip(process.steps, track.steps, strict=True)
                if state.sent is not None and spec.compensate is not None and state.status != StepStatus.PENDING]
    return replace(track, cancelled=True), commands[::-1]


def projected_completion(process: ProcessDefinition, track: Track, now: dt.datetime,
                         upto: int | None = None) -> dt.datetime:
    """When step ``upto`` (default: the promise point) is expected to be done.

    Done steps count at their actual completion; the active step at its
    planned end (or the world's estimate after a delay), but never before
    ``now``; pending steps add their planned durations after that.
    """
    last = process.promise_index if upto is None else upto
    t = now
    for i in range(last + 1):
        state, spec = track.steps[i], process.steps[i]
        if state.status == StepStatus.DONE:
            t = state.completed_at or t
        elif state.status == StepStatus.ACTIVE:
            planned = state.expected_at or ((state.started_at or now) + spec.duration)
            t = max(planned, now)
        else:
            t = max(t, now) + spec.duration
    return t


# -- the ruleset kind ----------------------------------------------------------------
def _duration(days: Decimal) -> dt.timedelta:
    """Exact: whole seconds of ``days`` (0.5 → 12 h), never through a float."""
    return dt.timedelta(seconds=int(days * 86400))


def _compile(model: ProcessFile, ctx: CompileContext) -> ProcessCatalogue:
    ref = model.ref
    processes = []
    seen: set[str] = set()
    for index, spec in enumerate(model.processes):
        path = ("processes", index)
        if spec.id in seen:
            ctx.error((*path, "id"), f"process id {spec.id!r} is used twice in this file")
        seen.add(spec.id)
        step_ids = [s.id for s in spec.steps]
        for j, step_id in enumerate(step_ids):
            if step_id in step_ids[:j]:
                ctx.error((*path, "steps", j, "id"), f"step id {step_id!r} is used twice in process {spec.id}")
        replan_index = 0
        if spec.replan_from is not None:
            if spec.replan_from not in step_ids:
                ctx.error((*path, "replan_from"), f"process {spec.id} has no step {spec.replan_from!r}",
                          hint="steps: " + ", ".join(step_ids))
            else:
                replan_index = step_ids.index(spec.replan_from)
        points = [j for j, s in enumerate(spec.steps) if s.promise_point]
        if len(points) > 1:
            ctx.error((*path, "steps", points[1], "promise_point"), "only one step can be the promise point")
        when = None
        if spec.applies_when is not None:
            when = ctx.expression(spec.applies_when, (*path, "applies_when"), LINE_SCHEMA, BOOLEAN)
        steps = tuple(StepDefinition(s.id, _duration(s.duration_days), s.completes_on, s.on_start,
                                     s.compensate) for s in spec.steps)
        processes.append(ProcessDefinition(spec.id, spec.scope, steps, replan_index,
                                           points[0] if points else len(steps) - 1, when, f"{ref}/{spec.id}"))
    return ProcessCatalogue(tuple(processes))


def _scenario(target: LoadedRuleset, bundle: RulesetBundle, given: Mapping[str, Any],
              as_of: dt.date | None) -> Mapping[str, Any]:
    """Which process each given line follows, its steps and planned days up to the promise point.

    ``given``: ``lines`` (order lines as captured), optional ``order`` fields
    (``channel``, ``currency``) and ``customer`` fields (``segment``).
    """
    from ..model import Customer as _Customer

    if as_of is None:
        raise ValueError("a process scenario needs `as_of` (rules may read it)")
    catalogue: ProcessCatalogue = target.artefact
    customer = _Customer(id="scenario", name="scenario", **dict(given.get("customer", {})))
    order = Order.model_validate({"order_id": "scenario", "customer_id": "scenario", "currency": "EUR",
                                  **dict(given.get("order", {})), "lines": list(given.get("lines", []))})
    day = dt.timedelta(days=1)
    result: dict[str, Any] = {}
    for process, line_ids in catalogue.plan(order, customer, as_of):
        promise = process.steps[:process.promise_index + 1]
        for line_id in line_ids:
            result[line_id] = {
                "process": process.id, "scope": process.scope.value, "steps": [s.id for s in process.steps],
                "planned_days": Decimal(process.planned / day).normalize(),
                "days_to_promise": Decimal(sum((s.duration for s in promise), dt.timedelta()) / day).normalize(),
                "replan_from": process.steps[process.replan_index].id,
            }
    return {"lines": result}


def _link(rulesets: Sequence[LoadedRuleset], ctx: LinkContext) -> None:
    """A process id names one process across every file (the first would silently win otherwise)."""
    seen: dict[str, LoadedRuleset] = {}
    for ruleset in rulesets:
        for index, spec in enumerate(ruleset.model.processes):
            first = seen.setdefault(spec.id, ruleset)
            if first is not ruleset and first.name != ruleset.name:
                ctx.error(ruleset, ("processes", index, "id"), f"process {spec.id!r} is also defined in {first.file}",
                          hint="give each process its own id")


PROCESS_KIND = RulesetKind("process", ProcessFile, _compile, link=_link, run_scenario=_scenario)


def process_catalogue_from(bundle: RulesetBundle, as_of: dt.date | None = None) -> ProcessCatalogue:
    """Every ``process`` ruleset of ``bundle`` (effective on ``as_of``), in file order."""
    loaded: Sequence = bundle.of_kind("process", as_of)
    return ProcessCatalogue(tuple(p for r in loaded for p in r.artefact.processes))
