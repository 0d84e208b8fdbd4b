"""The fulfilment shell: drives booked orders through their processes and records every change.

:class:`FulfilmentService` reads orders through the order layer's ports, calls
the pure pieces (:mod:`.process`, :mod:`.jeopardy`, :mod:`.returns`), asks the
event rules (through the one :class:`DurableRulesAdapter`), and writes what
changed: the order (a new version, through the order repository), its process
instance, holds, approvals, payments, returns and replenishment requests —
each change with an :class:`AuditEvent` saying who, what, when (the
:class:`Clock` port) and the values before and after.

Commands a step sends (a shipment request, its cancellation) go to
``on_command`` — the host's outbox — and are kept on the process instance.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from pricing_engine import Money

from ..errors import FieldProblem
from ..model import Customer, LineKind, LineStatus, Order, OrderStatus
from ..ports import OrderRecord
from ..revisions import Revision, diff
from ..service import CaptureResult, OrderService
from .audit import AuditEvent, Entity, plain
from .durable_adapter import DurableRulesAdapter, Evaluation
from .errors import OrderBlockedError, PaymentError, ReturnError, RuleActionError, StepTransitionError
from .event_rules import FactType, Priority, RuleSection
from .facts import line_fact, order_fact
from .jeopardy import LineProjection, project_lines, reconcile
from .payments import Payment, PaymentGateway, PaymentMethod, PaymentStatus, captured_net, require
from .process import (
    Command,
    CommandKind,
    EventType,
    ProcessCatalogue,
    StepStatus,
    Track,
    activate_from,
    cancel_track,
    complete_step,
    delay,
    replan,
    start_track,
)
from .records import (
    Approval,
    ApprovalStatus,
    FulfilmentEvent,
    Hold,
    JeopardyAlert,
    ProcessInstance,
    ReplenishmentRequest,
    ReplenishmentStatus,
    Stage,
)
from .repositories import FulfilmentRecords
from .returns import Resolution, ReturnAuthorisation, ReturnLine, ReturnReason, line_gross, unit_refunds

__all__ = [
    "FulfilmentEvent",
    "FulfilmentService",
    "JeopardyReport",
    "OrderBalance",
    "ReturnRequest",
    "StockLevels",
]


@dataclass(frozen=True)
class ReturnRequest:
    line_id: str
    quantity: Decimal
    reason: ReturnReason
    resolution: Resolution = Resolution.REFUND
    exchange_sku: str | None = None


@dataclass(frozen=True)
class OrderBalance:
    """What an order costs now, what returns credited, what was paid, and what is still open."""

    total: Decimal
    credited: Decimal
    paid: Decimal

    @property
    def due(self) -> Decimal:
        return self.total - self.credited

    @property
    def outstanding(self) -> Decimal:
        """Positive: the customer owes; negative: we owe a refund."""
        return self.due - self.paid


@dataclass(frozen=True)
class JeopardyReport:
    raised: tuple[JeopardyAlert, ...] = ()
    cleared: tuple[JeopardyAlert, ...] = ()
    changed: tuple[JeopardyAlert, ...] = ()
    errors: tuple[RuleActionError, ...] = ()
    orders: int = 0


class StockLevels(Protocol):
    """Available stock per item and location, and putting returned units back."""

    def available(self, sku: str, location: str) -> Decimal: ...

    def restock(self, sku: str, location: str, quantity: Decimal) -> None: ...


_SHIPPED = (LineStatus.SHIPPED, LineStatus.DELIVERED)
#: Changes that re-plan every track (where and when the goods go), and those that re-plan a line's track.
#: Price-only changes (discounts, coupons, notes) and what the system recomputes (status, promises) do not.
_REPLAN_ORDER_FIELDS = frozenset({"ship_to", "warehouse", "requested_date", "channel", "customer_id"})
_REPLAN_LINE_FIELDS = frozenset({"lines.sku", "lines.quantity", "lines.options", "lines.unit", "lines.kind",
                                 "lines.product_model", "lines.requested_date", "lines.service"})


@dataclass
class FulfilmentService:
    """Fulfilment of orders captured by ``orders``; see the module docstring."""

    orders: OrderService
    records: FulfilmentRecords
    processes: ProcessCatalogue
    rules: DurableRulesAdapter
    gateway: PaymentGateway | None = None
    stock: StockLevels | None = None
    on_command: Callable[[Command], None] | None = None
    _local: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def _pending(self) -> list[AuditEvent]:
        """Audit events of the call in progress on this thread, written together by :meth:`_flush`."""
        if not hasattr(self._local, "events"):
            self._local.events = []
        return self._local.events

    # -- capture, start ------------------------------------------------------------------
    def capture(self, draft: Order | Mapping[str, Any], actor: str, reason: str = "captured") -> CaptureResult:
        """Capture through the order layer, audit the order and its reservations, check reorder points."""
        result = self.orders.capture(draft, actor, reason)
        if result.created:
            record = result.record
            self._audit(actor, Entity.ORDER, record.order_id, "captured", None,
                        {"version": record.version, "status": record.order.status.value,
                         "total": plain(record.pricing.total if record.pricing else None)}, record.order_id, reason)
            for promise in record.promises:
                self._audit(actor, Entity.RESERVATION, f"{record.order_id}/{promise.line_id}", "reserved", None,
                            plain(promise), record.order_id)
            self._flush()
            self.check_reorder(self._stock_items(record.order), actor="system:reorder")
        return result

    def start(self, order_id: str, actor: str) -> ProcessInstance:
        """Begin fulfilment: holds from rules, an approval step if needed, else the process tracks.

        Raises :class:`RuleActionError` (after recording it on the order) when an
        event rule's action fails.
        """
        existing = self.records.processes.find(order_id)
        if existing is not None and (existing.tracks or not existing.errors):
            raise StepTransitionError(f"order {order_id} is already in fulfilment")
        record = self._record(order_id)
        if record.order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED, OrderStatus.ENTERED):
            raise StepTransitionError(f"order {order_id} is {record.order.status.value}; only a booked order starts")
        customer = self._customer(record.order)
        # a start that failed on an event rule may be retried: its instance only holds the errors
        instance = existing or ProcessInstance(order_id, Stage.RUNNING)
        evaluation = self.rules.evaluate(order_id, [self._order_fact(record, customer)])
        if evaluation.errors:
            if existing is None:
                self._save_instance(instance, None, actor, "created")
            self._fail(instance, evaluation, actor)
        self._reassess_rule_holds(record, evaluation, actor)
        instance = replace(instance, tracks=self._plan(record.order, customer))
        if self._approval_needed(record, evaluation, actor) is not None:
            instance = replace(instance, stage=Stage.AWAITING_APPROVAL)
        instance = self._save_instance(instance, self._find_version(order_id), actor, "created")
        instance = self._run(instance, actor)
        self._restore_status(order_id, instance, actor, "fulfilment started")
        self._flush()
        return instance

    # -- events ---------------------------------------------------------------------------
    def handle(self, event: FulfilmentEvent) -> ProcessInstance:
        """Apply an event; while the order is held, it waits and is applied on release.

        An event with an ``event_id`` already seen for the order (a carrier's
        message delivered twice) changes nothing.
        """
        instance = self._instance(event.order_id)
        if event.event_id is not None:
            if event.event_id in instance.seen:
                return instance
            instance = replace(instance, seen=(*instance.seen, event.event_id))
        if instance.stage != Stage.RUNNING:
            waits = {Stage.AWAITING_APPROVAL: "approve or reject it first",
                     Stage.SENT_BACK: "it was sent back; resubmit it first"}.get(instance.stage, "it is not running")
            raise OrderBlockedError(f"order {event.order_id} is {instance.stage.value}: {waits}")
        if self.active_holds(event.order_id):
            after = replace(instance, queued=(*instance.queued, event), version=instance.version + 1)
            self.records.processes.put(after, instance.version)
            self._audit(event.actor, Entity.STEP, event.order_id, f"{event.type.value} queued behind a hold",
                        None, plain(event), event.order_id)
            self._flush()
            return after
        instance = self._apply(instance, event)
        self._flush()
        return instance

    def _apply(self, instance: ProcessInstance, event: FulfilmentEvent) -> ProcessInstance:
        record = self._record(event.order_id)
        now = self._now()
        tracks = list(instance.tracks)
        targets = [i for i, t in enumerate(tracks) if not t.done
                   and (event.line_id is None or event.line_id in t.line_ids)]
        if not targets:
            raise StepTransitionError(f"order {event.order_id} has no open track"
                                      + (f" for line {event.line_id}" if event.line_id else ""))
        commands: list[Command] = []
        moved = 0
        for i in targets:
            track = tracks[i]
            process = self.processes.get(track.process_id)
            try:
                if event.type == EventType.SHIPMENT_DELAYED:
                    if event.expected_at is None:
                        raise StepTransitionError("a shipment_delayed event carries `expected_at`")
                    new = delay(process, track, event.expected_at)
                    sent: list[Command] = []
                else:
                    new, sent = complete_step(process, track, event.type, event.step, now)
            except StepTransitionError:
                if event.type == EventType.DELIVERED:
                    continue  # delivery completes a step only if a process waits for it; lines always learn of it
                if event.line_id is not None or len(targets) == 1:
                    raise
                continue  # an order-wide event: tracks it does not concern are left alone
            self._audit_steps(event.actor, event.order_id, track, new, event.type.value)
            tracks[i] = new
            commands.extend(sent)
            moved += 1
        if moved == 0 and event.type != EventType.DELIVERED:
            raise StepTransitionError(f"no open step of order {event.order_id} completes on {event.type.value}")
        instance = replace(instance, tracks=tuple(tracks))
        instance = self._send(instance, commands, event.actor)
        instance = self._save_instance(instance, instance.version, event.actor, event.type.value)
        self._reflect_lines(record, instance, event)
        if event.type == EventType.DELIVERED:
            self._collect_on_delivery(event)
        return self._paid_already(instance, event.actor)

    def _collect_on_delivery(self, event: FulfilmentEvent) -> None:
        """Cash on delivery: the courier collected it, so the pending payment is captured."""
        for payment in self.records.payments.for_order(event.order_id):
            if payment.method == PaymentMethod.CASH_ON_DELIVERY and payment.status == PaymentStatus.PENDING:
                require(self._gateway().capture(payment.reference, Money(payment.authorised, payment.currency),
                                                f"{payment.payment_id}:capture"), "cash collection")
                self._save_payment(payment, payment.with_capture(payment.authorised), event.actor,
                                   "collected on delivery", payment.reference)

    def _paid_already(self, instance: ProcessInstance, actor: str) -> ProcessInstance:
        """A step waiting for ``payment_captured`` on an order already paid in full moves on at once."""
        if instance.stage != Stage.RUNNING or not self._awaits(instance, EventType.PAYMENT_CAPTURED):
            return instance
        balance = self.balance(instance.order_id)
        if balance.paid <= 0 or balance.outstanding > 0:
            return instance
        return self._apply(instance, FulfilmentEvent(instance.order_id, EventType.PAYMENT_CAPTURED, actor=actor))

    def _reflect_lines(self, record: OrderRecord, instance: ProcessInstance, event: FulfilmentEvent) -> None:
        """Line and order statuses follow the events: shipped, delivered, closed."""
        order = record.order
        line_ids = {event.line_id} if event.line_id else {line.line_id for line in order.lines}
        lines = []
        for line in order.lines:
            if line.line_id in line_ids and line.kind != LineKind.SERVICE:
                if event.type == EventType.SHIPMENT_CONFIRMED and line.status not in _SHIPPED:
                    line = line.model_copy(update={"status": LineStatus.SHIPPED, "shipped_quantity": line.quantity})
                elif event.type == EventType.DELIVERED:
                    line = line.model_copy(update={"status": LineStatus.DELIVERED, "shipped_quantity": line.quantity})
            lines.append(line)
        status = order.status
        if instance.stage == Stage.COMPLETED:
            status = OrderStatus.CLOSED
        elif all(line.status in (*_SHIPPED, LineStatus.CANCELLED) or line.kind == LineKind.SERVICE for line in lines) \
                and any(line.status in _SHIPPED for line in lines):
            status = OrderStatus.SHIPPED
        after = order.model_copy(update={"lines": tuple(lines), "status": status})
        if after != order:
            self._save_order(record, after, event.actor, event.type.value)

    # -- change orders ------------------------------------------------------------------
    def change_order(self, order_id: str, changes: Mapping[str, Any], actor: str, reason: str) -> ProcessInstance:
        """Revise the order mid-fulfilment and compensate.

        The order layer re-validates, re-prices and re-promises (its processing
        constraints apply). Each track whose lines changed — every track, for a
        change of the order's own fields — is re-planned from its process's
        ``replan_from`` step: commands already sent from there on are
        compensated (a shipment request is cancelled), those steps start again,
        and the done steps before stay done. Removed lines' tracks are
        cancelled, new lines get tracks. If payments were captured, the
        difference is settled.
        """
        return self._change(order_id, changes, actor, reason, resubmit=False)

    def _change(self, order_id: str, changes: Mapping[str, Any], actor: str, reason: str,
                resubmit: bool) -> ProcessInstance:
        instance = self._instance(order_id)
        before = self._record(order_id)
        after = self.orders.revise(order_id, changes, actor, reason).record if changes else before
        if after.version == before.version and not resubmit:
            return instance
        if resubmit:
            instance = replace(instance, stage=Stage.RUNNING)  # submitted again: the rules decide below
        changed = diff(before.order, after.order)
        if changed:
            self._audit(actor, Entity.ORDER, order_id, f"revised to version {after.version}",
                        {c.path: plain(c.before) for c in changed}, {c.path: plain(c.after) for c in changed},
                        order_id, reason)
            self._audit_reservations(actor, before, after)
        customer = self._customer(after.order)
        evaluation = self.rules.evaluate(order_id, [self._order_fact(after, customer)])
        if evaluation.errors:
            self._fail(instance, evaluation, actor)
        self._reassess_rule_holds(after, evaluation, actor)
        if instance.stage == Stage.RUNNING and self._approval_again(before, after, evaluation, actor):
            instance = replace(instance, stage=Stage.AWAITING_APPROVAL)
        moving = instance.stage == Stage.RUNNING and not self.active_holds(order_id)
        whole = any(c.field_key.split(".")[0] in _REPLAN_ORDER_FIELDS for c in changed)
        touched = {before.order.lines[c.line_index].line_id for c in changed
                   if c.line_index is not None and (c.field_key == "lines" or c.field_key in _REPLAN_LINE_FIELDS)}
        kept_ids = {line.line_id for line in after.order.lines}
        now = self._now()
        tracks: list[Track] = []
        commands: list[Command] = []
        for track in instance.tracks:
            process = self.processes.get(track.process_id)
            if track.done:
                tracks.append(track)
                continue
            if not set(track.line_ids) & kept_ids:
                new, sent = cancel_track(process, track, now)
            elif whole or set(track.line_ids) & touched:
                kept = replace(track, line_ids=tuple(i for i in track.line_ids if i in kept_ids))
                new, sent = replan(process, kept, now, restart=moving)
            else:
                new, sent = track, []
            if new != track:
                self._audit_steps(actor, order_id, track, new, f"change order: {reason}")
            tracks.append(new)
            commands.extend(sent)
        covered = {i for t in tracks if not t.cancelled for i in t.line_ids}
        new_lines = [line for line in after.order.lines if line.line_id not in covered]
        if new_lines:
            subset = after.order.model_copy(update={"lines": tuple(new_lines)})
            for track in self._plan(subset, customer, first=len(tracks) + 1):
                self._audit_steps(actor, order_id, None, track, f"change order: {reason}")
                tracks.append(track)  # started below with the others, unless the order is stopped
        instance = replace(instance, tracks=tuple(tracks))
        if instance.stage == Stage.COMPLETED and not all(t.done for t in tracks):
            instance = replace(instance, stage=Stage.RUNNING)  # new work (an exchange) reopens the order
        instance = self._send(instance, commands, actor)
        instance = self._save_instance(instance, instance.version, actor, "change order")
        instance = self._resume(instance, actor)
        self._restore_status(order_id, instance, actor, reason)
        if self.gateway is not None and any(p.captured for p in self.records.payments.for_order(order_id)):
            self.settle(order_id, actor)
        self._flush()
        self.check_reorder(self._stock_items(after.order), actor="system:reorder")
        return instance

    def cancel(self, order_id: str, actor: str, reason: str) -> ProcessInstance:
        """Cancel the order, compensate every open track, void open payments and refund captured ones."""
        instance = self._instance(order_id)
        before = self._record(order_id)
        record = self.orders.cancel(order_id, actor, reason)
        self._audit(actor, Entity.ORDER, order_id, "cancelled", before.order.status.value,
                    record.order.status.value, order_id, reason)
        self._audit_reservations(actor, before, record)
        now = self._now()
        tracks, commands = [], []
        for track in instance.tracks:
            if track.done:
                tracks.append(track)
                continue
            new, sent = cancel_track(self.processes.get(track.process_id), track, now)
            self._audit_steps(actor, order_id, track, new, f"cancelled: {reason}")
            tracks.append(new)
            commands.extend(sent)
        instance = self._send(replace(instance, tracks=tuple(tracks), stage=Stage.CANCELLED), commands, actor)
        instance = self._save_instance(instance, instance.version, actor, "cancelled")
        if self.gateway is not None:
            for payment in self.records.payments.for_order(order_id):
                if payment.status in (PaymentStatus.AUTHORISED, PaymentStatus.PENDING):
                    result = require(self.gateway.void(payment.reference, f"{payment.payment_id}:void"), "void")
                    self._save_payment(payment, replace(payment, status=PaymentStatus.VOIDED), actor, "voided",
                                       result.reference)
                elif payment.net > 0:
                    self._refund(payment, payment.net, actor, "order cancelled")
        self._flush()
        return instance

    # -- holds ---------------------------------------------------------------------------
    def place_hold(self, order_id: str, reason: str, actor: str) -> Hold:
        """Stop the order's progress until the hold is released."""
        self._instance(order_id)
        hold = self._new_hold(order_id, reason, "person", actor)
        self._restore_status(order_id, self._instance(order_id), actor, f"hold: {reason}")
        self._flush()
        return hold

    def release_hold(self, hold_id: str, actor: str, note: str = "") -> ProcessInstance:
        """Release a hold; with none left, the order moves on and events that waited are applied."""
        hold = self.records.holds.get(hold_id)
        if not hold.active:
            raise StepTransitionError(f"hold {hold_id} was already released")
        released = replace(hold, released_by=actor, released_at=self._now(), release_note=note or None)
        self.records.holds.put(hold_id, hold.order_id, released)
        self._audit(actor, Entity.HOLD, hold_id, "released", plain(hold), plain(released), hold.order_id, note)
        instance = self._resume(self._instance(hold.order_id), actor)
        self._restore_status(hold.order_id, instance, actor, f"hold {hold_id} released")
        self._flush()
        return self._instance(hold.order_id)

    def _resume(self, instance: ProcessInstance, actor: str) -> ProcessInstance:
        """With no hold left: start what waits, then apply the events that arrived meanwhile, in order.

        An event that no longer fits (a change re-planned its step away) is
        dropped, and the audit trail says so; the others still apply.
        """
        if self.active_holds(instance.order_id):
            return instance
        instance = self._run(instance, actor)
        if not instance.queued or instance.stage != Stage.RUNNING:
            return instance
        queued, instance = instance.queued, replace(instance, queued=())
        instance = self._save_instance(instance, instance.version, actor, "hold released")
        for event in queued:
            try:
                instance = self._apply(instance, event)
            except StepTransitionError as exc:
                self._audit(actor, Entity.STEP, event.order_id, f"queued {event.type.value} dropped",
                            plain(event), None, event.order_id, str(exc))
        return instance

    def _reassess_rule_holds(self, record: OrderRecord, evaluation: Evaluation, actor: str) -> None:
        """Holds placed by rules follow the rules: placed when one fires, released when none does any more.

        Rule holds come from order validations with ``on_fail: hold`` (the order
        record's ``hold_reasons``) and from ``holds`` event rules. Holds placed by
        a person are never released by a rule.
        """
        wanted = {f"rule:{reason.split(':')[0]}": reason for reason in record.hold_reasons}
        for firing in self._fired(evaluation, RuleSection.HOLD):
            wanted[f"rule:{firing.rule.id}"] = str(firing.rule.payload["reason"])
        active = {h.source: h for h in self.active_holds(record.order_id) if h.source.startswith("rule:")}
        for source, hold in active.items():
            if source not in wanted:
                released = replace(hold, released_by=source, released_at=self._now(),
                                   release_note="the rule no longer applies")
                self.records.holds.put(hold.hold_id, hold.order_id, released)
                self._audit(source, Entity.HOLD, hold.hold_id, "released", plain(hold), plain(released),
                            hold.order_id, f"after a change by {actor}: the rule no longer applies")
        for source, reason in wanted.items():
            if source not in active:
                self._new_hold(record.order_id, reason, source, actor)

    def active_holds(self, order_id: str) -> list[Hold]:
        return [h for h in self.records.holds.for_order(order_id) if h.active]

    # -- approvals ----------------------------------------------------------------------
    def approve(self, order_id: str, actor: str, note: str = "", role: str | None = None) -> ProcessInstance:
        """Approve the pending approval; the process starts (unless a hold stops it).

        An approval that names a role (``sales_director``) is approved only by
        someone acting in it: pass ``role``; otherwise :class:`OrderBlockedError`.
        """
        approval = self._pending_approval(order_id)
        if approval.role is not None and role != approval.role:
            raise OrderBlockedError(f"order {order_id} needs approval by a {approval.role}"
                                    + (f", not a {role}" if role else "; pass the approver's role"))
        self._decide(approval, ApprovalStatus.APPROVED, actor, note)
        instance = replace(self._instance(order_id), stage=Stage.RUNNING)
        instance = self._save_instance(instance, instance.version, actor, "approved")
        instance = self._run(instance, actor)
        self._restore_status(order_id, instance, actor, "approved")
        self._flush()
        return instance

    def reject(self, order_id: str, actor: str, reason: str) -> ProcessInstance:
        """Reject: the order goes back to the desk (status ``entered``) to be changed and resubmitted."""
        approval = self._pending_approval(order_id)
        self._decide(approval, ApprovalStatus.REJECTED, actor, reason)
        instance = replace(self._instance(order_id), stage=Stage.SENT_BACK)
        instance = self._save_instance(instance, instance.version, actor, "rejected")
        self._restore_status(order_id, instance, actor, f"approval rejected: {reason}")
        self._flush()
        return instance

    def resubmit(self, order_id: str, changes: Mapping[str, Any], actor: str, reason: str) -> ProcessInstance:
        """Change a sent-back order and submit it again: a new approval if still needed, else it runs.

        The changes go through like a change order (compensation, re-planning);
        an approval given earlier still covers the order if the reasons are the
        same and it costs no more than when it was approved.
        """
        instance = self._instance(order_id)
        if instance.stage != Stage.SENT_BACK:
            raise StepTransitionError(f"order {order_id} was not sent back; use change_order")
        return self._change(order_id, changes, actor, reason, resubmit=True)

    def approvals(self, order_id: str) -> list[Approval]:
        return self.records.approvals.for_order(order_id)

    # -- jeopardy -----------------------------------------------------------------------
    def scan_jeopardy(self, order_ids: Iterable[str] | None = None, actor: str = "system:jeopardy") -> JeopardyReport:
        """Project every open line of open orders, ask the jeopardy rules, raise and clear alerts.

        One order at a time goes through the rule engine, so any number of open
        orders can be scanned. An order whose rule action fails keeps its alerts,
        gets the error recorded, and is reported in ``errors``; the others go on.
        """
        now = self._now()
        wanted = set(order_ids) if order_ids is not None else None
        open_stages = (Stage.RUNNING, Stage.AWAITING_APPROVAL)  # waiting for a decision can miss a date too
        instances = [i for i in self.records.processes.all()
                     if i.stage in open_stages and (wanted is None or i.order_id in wanted)]
        raised: list[JeopardyAlert] = []
        cleared: list[JeopardyAlert] = []
        changed: list[JeopardyAlert] = []
        errors: list[RuleActionError] = []
        customers: dict[str, Customer] = {}
        for instance in instances:
            record = self._record(instance.order_id)
            customer = customers.get(record.order.customer_id) or self._customer(record.order)
            customers[customer.id] = customer
            projections: dict[str, LineProjection] = {}
            for track in instance.tracks:
                for projection in project_lines(self.processes.get(track.process_id), track, record.order, now):
                    projections[projection.line_id] = projection
            facts = [self._line_fact(record, customer, p) for p in projections.values()]
            evaluation = self.rules.evaluate(instance.order_id, facts)
            if evaluation.errors:
                try:
                    self._fail(instance, evaluation, actor)
                except RuleActionError as exc:
                    errors.append(exc)
                continue
            verdicts: dict[str, tuple[Priority, str]] = {}
            for firing in self._fired(evaluation, RuleSection.JEOPARDY):
                line_id = str(firing.fact["line__id"])
                priority = Priority(firing.rule.payload["priority"])
                if line_id not in verdicts or priority.rank > verdicts[line_id][0].rank:
                    verdicts[line_id] = (priority, firing.rule.id)
            alerts, moves = reconcile(instance.order_id, instance.alerts, projections, verdicts, now)
            if not moves:
                continue
            for before, after in moves:
                alert = after or before
                assert alert is not None  # reconcile never reports a change from nothing to nothing
                if before is None:
                    what, bucket = "raised", raised
                elif after is None:
                    what, bucket = "cleared", cleared
                else:
                    what, bucket = "re-prioritised", changed
                bucket.append(alert)
                self._audit(actor, Entity.JEOPARDY, f"{instance.order_id}/{alert.line_id}", what, plain(before),
                            plain(after), instance.order_id)
            self._save_instance(replace(instance, alerts=alerts), instance.version, actor, "jeopardy")
        self._flush()
        return JeopardyReport(tuple(raised), tuple(cleared), tuple(changed), tuple(errors), len(instances))

    # -- payments -----------------------------------------------------------------------
    def authorise_payment(self, order_id: str, method: PaymentMethod, actor: str,
                          amount: Decimal | None = None) -> Payment:
        """Authorise the order's total (or ``amount``); bank transfer and cash on delivery open as pending."""
        gateway = self._gateway()
        record = self._record(order_id)
        total = amount if amount is not None else self.balance(order_id).outstanding
        if total <= 0:
            raise PaymentError(f"order {order_id} has nothing to pay ({total})")
        payment_id = self.records.payments.next_id("PAY")
        result = require(gateway.authorise(method, Money(total, record.order.currency), f"{payment_id}:auth"),
                         "authorisation")
        status = PaymentStatus.PENDING if method.deferred else PaymentStatus.AUTHORISED
        payment = Payment(payment_id, order_id, method, record.order.currency, total, result.reference, status)
        self._save_payment(None, payment, actor, "authorised", result.reference)
        self._flush()
        return payment

    def capture_payment(self, payment_id: str, actor: str) -> Payment:
        """Capture an open payment in full; the order's ``payment_captured`` step moves on."""
        payment = self.records.payments.get(payment_id)
        captured = payment.with_capture(payment.authorised)
        require(self._gateway().capture(payment.reference, Money(payment.authorised, payment.currency),
                                        f"{payment_id}:capture"), "capture")
        self._save_payment(payment, captured, actor, "captured", payment.reference)
        instance = self.records.processes.find(payment.order_id)
        if instance is not None and instance.stage == Stage.RUNNING and self._awaits(instance,
                                                                                       EventType.PAYMENT_CAPTURED):
            self.handle(FulfilmentEvent(payment.order_id, EventType.PAYMENT_CAPTURED, actor=actor))
        self._flush()
        return captured

    def settle(self, order_id: str, actor: str) -> Decimal:
        """Bring payments in line with what the order now costs; returns the amount moved (+ charged, − refunded).

        After an edit the order is re-priced; if it now costs more, the
        difference is authorised and captured with the last payment's method; if
        less, the difference is refunded from captured payments, newest first.
        """
        outstanding = self.balance(order_id).outstanding
        if outstanding > 0:
            method = self._last_method(order_id)
            payment = self.authorise_payment(order_id, method, actor, outstanding)
            if not method.deferred:
                self.capture_payment(payment.payment_id, actor)
        elif outstanding < 0:
            left = -outstanding
            for payment in sorted(self.records.payments.for_order(order_id), key=lambda p: p.payment_id,
                                  reverse=True):
                if left == 0:
                    break
                take = min(left, payment.net)
                if take > 0:
                    self._refund(payment, take, actor, "settlement after a change")
                    left -= take
            if left:
                raise PaymentError(f"order {order_id}: {left} is owed back but no captured payment covers it")
        self._flush()
        return outstanding

    def balance(self, order_id: str) -> OrderBalance:
        record = self._record(order_id)
        total = record.pricing.total if record.pricing else Decimal(0)
        if record.order.status == OrderStatus.CANCELLED:
            total = Decimal(0)
        credited = sum((r.refund_total for r in self.records.returns.for_order(order_id)), Decimal(0))
        return OrderBalance(total, credited, captured_net(self.records.payments.for_order(order_id)))

    # -- returns ------------------------------------------------------------------------
    def authorise_return(self, order_id: str, requests: Sequence[ReturnRequest], actor: str) -> ReturnAuthorisation:
        """Open a return authorisation for shipped units; every problem is reported at once."""
        record = self._record(order_id)
        problems: list[FieldProblem] = []
        earlier = self.records.returns.for_order(order_id)
        lines = []
        for index, request in enumerate(requests):
            try:
                line = record.order.line(request.line_id)
            except KeyError:
                problems.append(FieldProblem(f"lines[{index}].line_id", f"order {order_id} has no line "
                                             f"{request.line_id}"))
                continue
            open_qty = line.shipped_quantity - sum((rl.quantity for r in earlier for rl in r.lines
                                                    if rl.line_id == line.line_id), Decimal(0))
            if request.quantity <= 0 or request.quantity > open_qty:
                problems.append(FieldProblem(f"lines[{index}].quantity",
                                             f"{request.quantity} cannot be returned: {open_qty} shipped and "
                                             "not yet returned"))
            if (request.resolution == Resolution.EXCHANGE) != (request.exchange_sku is not None):
                problems.append(FieldProblem(f"lines[{index}].exchange_sku", "an exchange names the item to "
                                             "send instead (and only an exchange does)"))
            lines.append(ReturnLine(line.line_id, line.sku, request.quantity, request.reason, request.resolution,
                                    request.exchange_sku))
        if problems:
            raise ReturnError("; ".join(str(p) for p in problems))
        rma = ReturnAuthorisation(self.records.returns.next_id("RMA"), order_id, tuple(lines), actor, self._now())
        self.records.returns.put(rma.rma_id, order_id, rma)
        self._audit(actor, Entity.RETURN, rma.rma_id, "authorised", None, plain(rma), order_id)
        self._flush()
        return rma

    def receive_return(self, rma_id: str, counts: Mapping[str, tuple[Decimal, Decimal]], actor: str,
                       ) -> ReturnAuthorisation:
        """Record (received, damaged) per line: restock good units, credit, replace or exchange, settle.

        Refunds follow :mod:`.returns` (exact unit shares of the line's gross);
        a replacement sends a new shipment request; an exchange adds the new
        item to the order as a change order, so the price difference is settled
        by :meth:`settle` like any other edit.
        """
        rma = self.records.returns.get(rma_id)
        record = self._record(rma.order_id)
        received = rma.received(dict(counts), self._now())
        gross = line_gross(record)
        credited_before = {}
        for other in self.records.returns.for_order(rma.order_id):
            for line in other.lines:
                if line.refund:
                    credited_before[line.line_id] = credited_before.get(line.line_id, Decimal(0)) \
                        + line.credited_units
        lines = []
        exchanges: list[tuple[ReturnLine, Decimal]] = []
        replacements: list[Command] = []
        for line in received.lines:
            order_line = record.order.line(line.line_id)
            units = line.credited_units
            refund = unit_refunds(gross[line.line_id], record.order.currency, order_line.quantity,
                                  credited_before.get(line.line_id, Decimal(0)), units) \
                if line.resolution in (Resolution.REFUND, Resolution.EXCHANGE) else Decimal(0)
            lines.append(replace(line, refund=refund))
            if line.restocked and self.stock is not None:
                self.stock.restock(line.sku, order_line.ship_from or "", line.restocked)
                self._audit(actor, Entity.RESERVATION, f"{rma.order_id}/{line.line_id}", "restocked",
                            None, {"sku": line.sku, "location": order_line.ship_from,
                                   "quantity": plain(line.restocked)}, rma.order_id, rma_id)
            if line.resolution == Resolution.EXCHANGE and units:
                exchanges.append((line, units))
            if line.resolution == Resolution.REPLACEMENT and units:
                replacements.append(Command(CommandKind.REQUEST_SHIPMENT, rma_id, "replacement", (line.line_id,),
                                            self._now()))
        received = replace(received, lines=tuple(lines))
        self.records.returns.put(rma_id, rma.order_id, received)
        came_back = {line.line_id: line.received for line in received.lines if line.received}
        if came_back:  # the order itself shows what came back, as a new version
            updated = self.orders.record_returns(rma.order_id, came_back, actor, f"return {rma_id} received")
            self._audit(actor, Entity.ORDER, rma.order_id, f"returned units recorded in version {updated.version}",
                        {k: plain(record.order.line(k).returned_quantity) for k in came_back},
                        {k: plain(updated.order.line(k).returned_quantity) for k in came_back}, rma.order_id,
                        rma_id)
        self._audit(actor, Entity.RETURN, rma_id, "received", plain(rma), plain(received), rma.order_id)
        for command in replacements:
            self._dispatch(command, actor, rma.order_id)
        if exchanges:
            new_lines = [*(line.model_dump() for line in record.order.lines)]
            for line, units in exchanges:
                new_lines.append({"line_id": f"{line.line_id}-{rma_id}", "sku": line.exchange_sku,
                                  "quantity": units})
            self.change_order(rma.order_id, {"lines": new_lines}, actor, f"exchange {rma_id}")
        elif self.gateway is not None and any(p.captured for p in self.records.payments.for_order(rma.order_id)):
            self.settle(rma.order_id, actor)
        self._flush()
        return received

    # -- automatic reorder ------------------------------------------------------------------
    def check_reorder(self, items: Iterable[tuple[str, str]], actor: str = "system:reorder",
                      ) -> list[ReplenishmentRequest]:
        """Ask the reorder points about ``items`` (sku, location); one open request per item at most."""
        if self.stock is None:
            return []
        facts = []
        for sku, location in dict.fromkeys(items):
            available = self.stock.available(sku, location)
            facts.append({"type": FactType.STOCK.value, "sku": sku, "location": location,
                          "available": int(available.to_integral_value(rounding="ROUND_FLOOR")),
                          "_available": str(available)})
        evaluation = self.rules.evaluate("stock", facts)
        evaluation.raise_for_errors()
        created = []
        open_requests = {(r.sku, r.location) for r in self.records.replenishments.all()
                         if r.status == ReplenishmentStatus.OPEN}
        for firing in self._fired(evaluation, RuleSection.REORDER):
            payload = firing.rule.payload
            key = (payload["sku"], payload["location"])
            if key in open_requests:
                continue
            available = Decimal(str(firing.fact["_available"]))
            request = ReplenishmentRequest(self.records.replenishments.next_id("REPL"), key[0], key[1],
                                           Decimal(payload["max"]) - available, available, payload["min"],
                                           payload["max"], self._now(), firing.rule.key)
            self.records.replenishments.put(request.request_id, "", request)
            self._audit(actor, Entity.REPLENISHMENT, request.request_id, "requested", None, plain(request), None)
            open_requests.add(key)
            created.append(request)
        self._flush()
        return created

    # -- helpers ------------------------------------------------------------------------
    def instance(self, order_id: str) -> ProcessInstance:
        return self._instance(order_id)

    def _instance(self, order_id: str) -> ProcessInstance:
        instance = self.records.processes.find(order_id)
        if instance is None:
            raise StepTransitionError(f"order {order_id} has not started fulfilment")
        return instance

    def _find_version(self, order_id: str) -> int | None:
        found = self.records.processes.find(order_id)
        return None if found is None else found.version

    def _record(self, order_id: str) -> OrderRecord:
        with self.orders.unit_of_work() as uow:
            return uow.orders.get(order_id)

    def _customer(self, order: Order) -> Customer:
        return self.orders.customers.get(order.customer_id)

    def _now(self) -> dt.datetime:
        return self.orders.clock.now()

    def _gateway(self) -> PaymentGateway:
        if self.gateway is None:
            raise PaymentError("no payment gateway is configured")
        return self.gateway

    def _plan(self, order: Order, customer: Customer, first: int = 1) -> tuple[Track, ...]:
        as_of = self.orders.today(self._now())
        tracks = []
        for n, (process, line_ids) in enumerate(self.processes.plan(order, customer, as_of), start=first):
            track, _ = start_track(process, f"{order.order_id}/T{n}", line_ids, self._now())
            tracks.append(Track(track.track_id, process.id, line_ids,
                                tuple(replace(s, status=StepStatus.PENDING, started_at=None, completed_at=None,
                                              sent=None) for s in track.steps)))
        return tuple(tracks)

    def _run(self, instance: ProcessInstance, actor: str) -> ProcessInstance:
        """Start every track that is not moving, if the order is running and not held."""
        if instance.stage != Stage.RUNNING or self.active_holds(instance.order_id):
            return instance
        now = self._now()
        tracks, commands = [], []
        for track in instance.tracks:
            if track.done or track.active is not None:
                tracks.append(track)
                continue
            index = next(i for i, s in enumerate(track.steps) if s.status != StepStatus.DONE)
            new, sent = activate_from(self.processes.get(track.process_id), track, index, now)
            self._audit_steps(actor, instance.order_id, track, new, "started")
            tracks.append(new)
            commands.extend(sent)
        if not commands and tuple(tracks) == instance.tracks:
            return instance
        instance = self._send(replace(instance, tracks=tuple(tracks)), commands, actor)
        instance = self._save_instance(instance, instance.version, actor, "running")
        self._restore_status(instance.order_id, instance, actor, "running")
        return self._paid_already(instance, actor)

    def _send(self, instance: ProcessInstance, commands: list[Command], actor: str) -> ProcessInstance:
        for command in commands:
            self._dispatch(command, actor, instance.order_id)
        return replace(instance, commands=(*instance.commands, *commands))

    def _dispatch(self, command: Command, actor: str, order_id: str) -> None:
        if self.on_command is not None:
            self.on_command(command)
        self._audit(actor, Entity.STEP, command.command_id, f"sent {command.kind.value}", None,
                    plain(command), order_id)

    def _save_instance(self, instance: ProcessInstance, expected: int | None, actor: str,
                       why: str) -> ProcessInstance:
        if instance.tracks and all(t.done for t in instance.tracks) and instance.stage == Stage.RUNNING:
            instance = replace(instance, stage=Stage.COMPLETED)
        current = self.records.processes.find(instance.order_id)
        stored = replace(instance, version=(expected or 0) + 1)
        self.records.processes.put(stored, expected)
        if current is None or current.stage != stored.stage:
            self._audit(actor, Entity.ORDER, instance.order_id, f"fulfilment {why}",
                        current.stage.value if current else None, stored.stage.value, instance.order_id)
        return stored

    def _restore_status(self, order_id: str, instance: ProcessInstance, actor: str, reason: str) -> None:
        """The order's status from where fulfilment stands (holds first, then approval, then progress)."""
        record = self._record(order_id)
        order = record.order
        if order.status == OrderStatus.CANCELLED or (order.status == OrderStatus.CLOSED
                                                      and instance.stage == Stage.COMPLETED):
            return
        if self.active_holds(order_id):
            status = OrderStatus.ON_HOLD
        elif instance.stage == Stage.AWAITING_APPROVAL:
            status = OrderStatus.AWAITING_APPROVAL
        elif instance.stage == Stage.SENT_BACK:
            status = OrderStatus.ENTERED
        elif instance.stage == Stage.COMPLETED:
            status = OrderStatus.CLOSED
        elif any(line.status in _SHIPPED for line in order.lines) and all(
                line.status in (*_SHIPPED, LineStatus.CANCELLED) or line.kind == LineKind.SERVICE
                for line in order.lines):
            status = OrderStatus.SHIPPED
        else:
            status = OrderStatus.IN_FULFILMENT
        if status != order.status:
            self._save_order(record, order.model_copy(update={"status": status}), actor, reason)

    def _save_order(self, record: OrderRecord, after: Order, actor: str, reason: str) -> OrderRecord:
        before = record.order
        after = after.model_copy(update={"version": before.version + 1})
        changes = tuple(diff(before, after))
        revision = Revision(after.version, self._now(), actor, reason, changes, after)
        new = replace(record, order=after, revisions=(*record.revisions, revision))
        with self.orders.unit_of_work() as uow:
            uow.orders.update(new, expected_version=before.version)
            uow.commit()
        self._audit(actor, Entity.ORDER, before.order_id, f"version {after.version}",
                    {c.path: plain(c.before) for c in changes}, {c.path: plain(c.after) for c in changes},
                    before.order_id, reason)
        return new

    def _audit_steps(self, actor: str, order_id: str, before: Track | None, after: Track, why: str) -> None:
        old = {s.step_id: s for s in before.steps} if before else {}
        for state in after.steps:
            prior = old.get(state.step_id)
            if prior is None or prior.status != state.status or prior.expected_at != state.expected_at:
                self._audit(actor, Entity.STEP, f"{after.track_id}/{state.step_id}", why,
                            prior.status.value if prior else None,
                            state.status.value if state.expected_at is None or (prior and prior.expected_at
                                                                                 == state.expected_at)
                            else {"status": state.status.value, "expected_at": state.expected_at.isoformat()},
                            order_id)
        if before is not None and after.cancelled and not before.cancelled:
            self._audit(actor, Entity.STEP, after.track_id, why, "open", "cancelled", order_id)

    def _audit_reservations(self, actor: str, before: OrderRecord, after: OrderRecord) -> None:
        old = {p.line_id: p for p in before.promises}
        new = {p.line_id: p for p in after.promises}
        for line_id in sorted(set(old) | set(new)):
            if old.get(line_id) != new.get(line_id):
                self._audit(actor, Entity.RESERVATION, f"{after.order_id}/{line_id}", "changed",
                            plain(old.get(line_id)), plain(new.get(line_id)), after.order_id)

    def _audit(self, actor: str, entity: Entity, entity_id: str, action: str, before: Any, after: Any,
               order_id: str | None, reason: str = "") -> None:
        self._pending.append(AuditEvent(self._now(), actor, entity, entity_id, action, before, after, order_id,
                                        reason))

    def _flush(self) -> None:
        if self._pending:
            events, self._local.events = self._pending, []
            self.records.audit.append(events)

    def _new_hold(self, order_id: str, reason: str, source: str, actor: str) -> Hold:
        hold = Hold(self.records.holds.next_id("HOLD"), order_id, reason, source, actor, self._now())
        self.records.holds.put(hold.hold_id, order_id, hold)
        self._audit(actor, Entity.HOLD, hold.hold_id, "placed", None, plain(hold), order_id, reason)
        return hold

    def _approval_reasons(self, record: OrderRecord, evaluation: Evaluation) -> tuple[list[str], str | None]:
        """Why the order needs approval (pricing, ``approvals`` rules) and the role that gives it."""
        reasons: list[str] = []
        role = None
        if record.pricing is not None and record.pricing.requires_approval:
            reasons.extend(record.pricing.approval_reasons or ("pricing requires approval",))
        for firing in self._fired(evaluation, RuleSection.APPROVAL):
            reasons.append(f"{firing.rule.id}: {firing.rule.payload['reason']}")
            role = role or str(firing.rule.payload["role"])
        return reasons, role

    def _approval_needed(self, record: OrderRecord, evaluation: Evaluation, actor: str) -> Approval | None:
        reasons, role = self._approval_reasons(record, evaluation)
        if not reasons:
            return None
        return self._open_approval(record, reasons, role, actor)

    def _approval_again(self, before: OrderRecord, after: OrderRecord, evaluation: Evaluation, actor: str) -> bool:
        """After a change: a new approval if the rules call for one, unless one already given covers it.

        An approval covers the order while the reasons are the same and it costs
        no more than when it was approved.
        """
        reasons = self._approval_reasons(after, evaluation)
        if not reasons[0]:
            return False
        given = [a for a in self.records.approvals.for_order(after.order_id) if a.status == ApprovalStatus.APPROVED]
        new_total = after.pricing.total if after.pricing else Decimal(0)
        if given and set(reasons[0]) <= set(given[-1].reasons) and new_total <= (given[-1].total or Decimal(0)):
            return False
        self._open_approval(after, reasons[0], reasons[1], actor)
        return True

    def _open_approval(self, record: OrderRecord, reasons: list[str], role: str | None, actor: str) -> Approval:
        approval = Approval(self.records.approvals.next_id("APPR"), record.order_id, record.version,
                            tuple(reasons), role, self._now(),
                            total=record.pricing.total if record.pricing else None)
        self.records.approvals.put(approval.approval_id, record.order_id, approval)
        self._audit(actor, Entity.APPROVAL, approval.approval_id, "requested", None, plain(approval),
                    record.order_id, "; ".join(reasons))
        return approval

    def _pending_approval(self, order_id: str) -> Approval:
        pending = [a for a in self.records.approvals.for_order(order_id) if a.status == ApprovalStatus.PENDING]
        if not pending:
            raise StepTransitionError(f"order {order_id} has no pending approval")
        return pending[-1]

    def _decide(self, approval: Approval, status: ApprovalStatus, actor: str, note: str) -> None:
        decided = replace(approval, status=status, decided_by=actor, decided_at=self._now(), note=note or None)
        self.records.approvals.put(approval.approval_id, approval.order_id, decided)
        self._audit(actor, Entity.APPROVAL, approval.approval_id, status.value, plain(approval), plain(decided),
                    approval.order_id, note)

    def _fail(self, instance: ProcessInstance, evaluation: Evaluation, actor: str) -> None:
        """Record an event-rule failure on the order, then raise it."""
        try:
            evaluation.raise_for_errors()
        except RuleActionError as exc:
            current = self.records.processes.find(instance.order_id) or instance
            failed = replace(current, errors=(*current.errors, str(exc)))
            self._save_instance(failed, current.version, actor, "rule error")
            self._audit(actor, Entity.ORDER, instance.order_id, "event rule failed", None, str(exc),
                        instance.order_id)
            self._flush()
            raise

    @staticmethod
    def _fired(evaluation: Evaluation, section: RuleSection) -> list[Any]:
        return [f for f in evaluation.firings if f.rule.section == section]

    def _order_fact(self, record: OrderRecord, customer: Customer) -> dict[str, Any]:
        return order_fact(record, customer, self.orders.today(self._now()))

    def _line_fact(self, record: OrderRecord, customer: Customer, projection: LineProjection) -> dict[str, Any]:
        return line_fact(record, customer, self.orders.today(self._now()), projection)

    def _awaits(self, instance: ProcessInstance, event: EventType) -> bool:
        for track in instance.tracks:
            active = track.active
            if active is not None and self.processes.get(track.process_id).steps[
                    self.processes.get(track.process_id).index(active.step_id)].completes_on == event:
                return True
        return False

    def _last_method(self, order_id: str) -> PaymentMethod:
        payments = sorted(self.records.payments.for_order(order_id), key=lambda p: p.payment_id)
        if not payments:
            raise PaymentError(f"order {order_id} has no payment to settle against")
        return payments[-1].method

    def _save_payment(self, before: Payment | None, after: Payment, actor: str, action: str, reference: str) -> None:
        self.records.payments.put(after.payment_id, after.order_id, after)
        self._audit(actor, Entity.PAYMENT, after.payment_id, f"{action} ({reference})", plain(before), plain(after),
                    after.order_id)

    def _refund(self, payment: Payment, amount: Decimal, actor: str, why: str) -> Payment:
        refunded = payment.with_refund(amount)
        key = f"{payment.payment_id}:refund:{refunded.refunded}"
        require(self._gateway().refund(payment.reference, Money(amount, payment.currency), key), "refund")
        self._save_payment(payment, refunded, actor, f"refunded {amount} — {why}", payment.reference)
        return refunded

    def _stock_items(self, order: Order) -> list[tuple[str, str]]:
        return [(line.sku, line.ship_from) for line in order.lines if line.ship_from]

