"""What every handler shares: its dependencies, and the steps of work inside one unit of work.

:class:`Dependencies` are the order layer's fixed collaborators (rules,
pricing, configurator, sourcing rules, processes, event rules, payment
gateway, clock), built once by :func:`order_management.bootstrap`.

:class:`Handling` is one command being handled: the unit of work, the actor
and the moment. Its methods are the small steps the use cases share — save a
new order version, save a process instance, work out the order's status,
start the tracks that can move, place a hold — and each records the domain
events of what it changed; nothing here commits or calls another use case.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from pricing_engine import Money

from ..availability import SupplyPromiser
from ..errors import FulfilmentNotConfiguredError
from ..events import Changed, DomainEvent, OrderClosed, ShipmentRequested
from ..fulfilment.audit import Entity, plain
from ..fulfilment.durable_adapter import DurableRulesAdapter, Evaluation
from ..fulfilment.errors import PaymentError, RuleActionError, StepTransitionError
from ..fulfilment.event_rules import RuleSection
from ..fulfilment.facts import line_fact, order_fact
from ..fulfilment.jeopardy import LineProjection
from ..fulfilment.payments import Payment, PaymentGateway, PaymentStatus, captured_net, require
from ..fulfilment.process import Command, EventType, ProcessCatalogue, StepStatus, Track, activate_from, start_track
from ..fulfilment.records import Approval, ApprovalStatus, Hold, ProcessInstance, Stage
from ..fulfilment.returns import ReturnAuthorisation
from ..model import Customer, LineKind, LineStatus, Order, OrderStatus
from ..ports import Clock, CustomerDirectory, OrderRecord, Pricer, ProductChecker
from ..promising import PromisingRules
from ..revisions import Revision, diff
from ..rules import OrderRules
from ..unit_of_work import UnitOfWork

__all__ = ["Dependencies", "Handling", "OrderBalance", "balance_of", "order_status"]

_SHIPPED = (LineStatus.SHIPPED, LineStatus.DELIVERED)


@dataclass(frozen=True)
class Dependencies:
    """The order layer's collaborators; fulfilment is off when ``processes`` is None."""

    rules: OrderRules
    customers: CustomerDirectory
    clock: Clock
    pricer: Pricer
    sourcing: PromisingRules
    products: ProductChecker | None = None
    processes: ProcessCatalogue | None = None
    event_rules: DurableRulesAdapter | None = None
    gateway: PaymentGateway | None = None
    today: Callable[[dt.datetime], dt.date] = field(default=lambda now: now.date())


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


def balance_of(record: OrderRecord, returns: Iterable[ReturnAuthorisation], payments: list[Payment]) -> OrderBalance:
    """What the order costs (nothing once cancelled), what its returns credited, and what was paid."""
    total = record.pricing.total if record.pricing else Decimal(0)
    if record.order.status == OrderStatus.CANCELLED:
        total = Decimal(0)
    credited = sum((r.refund_total for r in returns), Decimal(0))
    return OrderBalance(total, credited, captured_net(payments))


def goods_done(order: Order) -> bool:
    """Every goods line shipped, delivered or cancelled, and at least one shipped."""
    goods = [line for line in order.lines if line.kind != LineKind.SERVICE]
    return bool(goods) and all(line.status in (*_SHIPPED, LineStatus.CANCELLED) for line in goods) \
        and any(line.status in _SHIPPED for line in goods)


def all_lines_done(order: Order) -> bool:
    """Every line delivered, cancelled or returned in full (services are done when their process is)."""
    return all(line.kind == LineKind.SERVICE or line.status in (LineStatus.DELIVERED, LineStatus.CANCELLED)
               or line.returned_quantity >= line.quantity for line in order.lines)


def order_status(order: Order, stage: Stage | None, *, held: bool, awaiting_approval: bool,
                 sent_back: bool) -> OrderStatus:
    """Where an order stands: done first, then holds, then approval, then fulfilment progress, then supply.

    >>> from order_management import Order
    >>> draft = Order(order_id="SO-1", customer_id="C", currency="EUR", lines=[{"line_id": "1", "sku": "X",
    ...               "quantity": 1, "status": "backordered"}])
    >>> order_status(draft, None, held=False, awaiting_approval=False, sent_back=False).value
    'backordered'
    >>> order_status(draft, None, held=True, awaiting_approval=True, sent_back=False).value
    'on_hold'
    """
    if order.status in (OrderStatus.CANCELLED, OrderStatus.CLOSED):
        return order.status
    if stage == Stage.COMPLETED:  # closed once every line is delivered, cancelled or returned
        return OrderStatus.CLOSED if all_lines_done(order) else OrderStatus.SHIPPED
    if held:
        return OrderStatus.ON_HOLD
    if awaiting_approval:
        return OrderStatus.AWAITING_APPROVAL
    if sent_back or stage == Stage.SENT_BACK:
        return OrderStatus.ENTERED
    if stage == Stage.RUNNING:
        return OrderStatus.SHIPPED if goods_done(order) else OrderStatus.IN_FULFILMENT
    if any(line.status == LineStatus.BACKORDERED for line in order.lines):
        return OrderStatus.BACKORDERED
    return OrderStatus.BOOKED


class Handling:
    """One command in progress: its unit of work, who acts, and when."""

    def __init__(self, uow: UnitOfWork, deps: Dependencies, actor: str) -> None:
        self.uow = uow
        self.deps = deps
        self.actor = actor
        self.now = deps.clock.now()
        self.as_of = deps.today(self.now)

    # -- reading -----------------------------------------------------------------------------
    def record_of(self, order_id: str) -> OrderRecord:
        return self.uow.orders.get(order_id)

    def customer(self, order: Order) -> Customer:
        return self.deps.customers.get(order.customer_id)

    def promiser(self) -> SupplyPromiser:
        return SupplyPromiser(self.uow.reservations, self.deps.sourcing)

    def processes(self) -> ProcessCatalogue:
        if self.deps.processes is None:
            raise FulfilmentNotConfiguredError("fulfilment is not configured: the rulesets have no `process` ruleset")
        return self.deps.processes

    def instance(self, order_id: str) -> ProcessInstance:
        found = self.uow.processes.find(order_id)
        if found is None:
            raise StepTransitionError(f"order {order_id} has not started fulfilment")
        return found

    def active_holds(self, order_id: str) -> list[Hold]:
        return [h for h in self.uow.holds.for_order(order_id) if h.active]

    def pending_approval(self, order_id: str) -> Approval | None:
        pending = [a for a in self.uow.approvals.for_order(order_id) if a.status == ApprovalStatus.PENDING]
        return pending[-1] if pending else None

    def balance(self, order_id: str) -> OrderBalance:
        return balance_of(self.record_of(order_id), self.uow.returns.for_order(order_id),
                          self.uow.payments.for_order(order_id))

    # -- recording ---------------------------------------------------------------------------
    def changed(self, entity: Entity, entity_id: str, action: str, before: Any, after: Any,
                order_id: str | None, reason: str = "", actor: str | None = None) -> None:
        self.uow.record(Changed(actor=actor or self.actor, at=self.now, order_id=order_id, entity=entity,
                                entity_id=entity_id, action=action, before=before, after=after, reason=reason))

    def happened(self, event: DomainEvent) -> None:
        self.uow.record(event)

    def save_order(self, record: OrderRecord, after: Order, reason: str, *, pricing: Any = None,
                   promises: Any = None, hold_reasons: tuple[str, ...] | None = None) -> OrderRecord:
        """``after`` as the order's next version, with a revision and an audit entry of what changed."""
        before = record.order
        after = after.model_copy(update={"version": before.version + 1})
        changes = tuple(diff(before, after))
        revision = Revision(after.version, self.now, self.actor, reason, changes, after)
        new = replace(record, order=after, revisions=(*record.revisions, revision),
                      pricing=record.pricing if pricing is None else pricing,
                      promises=record.promises if promises is None else tuple(promises),
                      hold_reasons=record.hold_reasons if hold_reasons is None else hold_reasons)
        self.uow.orders.update(new, expected_version=before.version)
        self.changed(Entity.ORDER, before.order_id, f"version {after.version}",
                     {c.path: plain(c.before) for c in changes}, {c.path: plain(c.after) for c in changes},
                     before.order_id, reason)
        return new

    def audit_reservations(self, before: OrderRecord, after: OrderRecord) -> None:
        old = {p.line_id: p for p in before.promises}
        new = {p.line_id: p for p in after.promises}
        for line_id in sorted(set(old) | set(new)):
            if old.get(line_id) != new.get(line_id):
                self.changed(Entity.RESERVATION, f"{after.order_id}/{line_id}", "changed",
                             plain(old.get(line_id)), plain(new.get(line_id)), after.order_id)

    # -- status ------------------------------------------------------------------------------
    def settle_status(self, order_id: str, reason: str, changed: Order | None = None) -> OrderRecord:
        """The order's status from where it stands: holds, then approval, then fulfilment progress.

        ``changed`` is the order with the caller's own changes (lines shipped),
        saved with its status as one new version. Nothing is saved when nothing
        changed; an order that closes records :class:`OrderClosed` (its
        jeopardy alerts are cleared by the follow-up).
        """
        record = self.record_of(order_id)
        order = changed or record.order
        instance = self.uow.processes.find(order_id)
        status = order_status(order, instance.stage if instance else None,
                              held=bool(self.active_holds(order_id)),
                              awaiting_approval=self.pending_approval(order_id) is not None,
                              sent_back=self._sent_back_before_fulfilment(order_id, instance))
        if status == order.status and order == record.order:
            return record
        saved = self.save_order(record, order.model_copy(update={"status": status}), reason)
        if status == OrderStatus.CLOSED:
            self.happened(OrderClosed(actor=self.actor, at=self.now, order_id=order_id))
        return saved

    def _sent_back_before_fulfilment(self, order_id: str, instance: ProcessInstance | None) -> bool:
        if instance is not None:
            return False
        approvals = self.uow.approvals.for_order(order_id)
        return bool(approvals) and approvals[-1].status == ApprovalStatus.REJECTED

    # -- holds and approvals -------------------------------------------------------------------
    def new_hold(self, order_id: str, reason: str, source: str) -> Hold:
        hold = Hold(self.uow.holds.next_id("HOLD"), order_id, reason, source, self.actor, self.now)
        self.uow.holds.put(hold.hold_id, order_id, hold)
        self.changed(Entity.HOLD, hold.hold_id, "placed", None, plain(hold), order_id, reason)
        return hold

    def release(self, hold: Hold, note: str, by: str | None = None) -> Hold:
        released = replace(hold, released_by=by or self.actor, released_at=self.now, release_note=note or None)
        self.uow.holds.put(hold.hold_id, hold.order_id, released)
        self.changed(Entity.HOLD, hold.hold_id, "released", plain(hold), plain(released), hold.order_id, note,
                     actor=by)
        return released

    def reassess_rule_holds(self, record: OrderRecord, evaluation: Evaluation | None) -> None:
        """Holds placed by rules follow the rules: placed when one fires, released when none does any more.

        Rule holds come from order validations with ``on_fail: hold`` (the
        record's ``hold_reasons``) and from ``holds`` event rules. Holds placed
        by a person are never released by a rule.
        """
        wanted = {f"rule:{reason.split(':')[0]}": reason for reason in record.hold_reasons}
        for firing in fired(evaluation, RuleSection.HOLD):
            wanted[f"rule:{firing.rule.id}"] = str(firing.rule.payload["reason"])
        active = {h.source: h for h in self.active_holds(record.order_id) if h.source.startswith("rule:")}
        for source, hold in active.items():
            if source not in wanted:
                self.release(hold, f"after a change by {self.actor}: the rule no longer applies", by=source)
        for source, reason in wanted.items():
            if source not in active:
                self.new_hold(record.order_id, reason, source)

    def approval_reasons(self, record: OrderRecord, evaluation: Evaluation | None) -> tuple[list[str], str | None]:
        """Why the order needs approval (pricing, ``approvals`` rules) and the role that gives it."""
        reasons: list[str] = []
        role = None
        if record.pricing is not None and record.pricing.requires_approval:
            reasons.extend(record.pricing.approval_reasons or ("pricing requires approval",))
        for firing in fired(evaluation, RuleSection.APPROVAL):
            reasons.append(f"{firing.rule.id}: {firing.rule.payload['reason']}")
            role = role or str(firing.rule.payload["role"])
        return reasons, role

    def require_approval(self, record: OrderRecord, evaluation: Evaluation | None) -> bool:
        """Open an approval if the rules call for one that no approval already covers; True if one is pending.

        An approval given earlier covers the order while the reasons are the
        same (or fewer), the role the same, and it costs no more than when it
        was approved.
        """
        reasons, role = self.approval_reasons(record, evaluation)
        pending = self.pending_approval(record.order_id)
        if not reasons:
            if pending is not None:  # the change took away what needed approval
                self.decide(pending, ApprovalStatus.APPROVED, "no longer needed after a change", "system:rules")
            return False
        given = [a for a in self.uow.approvals.for_order(record.order_id) if a.status == ApprovalStatus.APPROVED]
        total = record.pricing.total if record.pricing else Decimal(0)
        if given and set(reasons) <= set(given[-1].reasons) and given[-1].role == role \
                and total <= (given[-1].total or Decimal(0)):
            return False
        if pending is not None and set(reasons) == set(pending.reasons) and pending.role == role:
            return True
        if pending is not None:
            self.decide(pending, ApprovalStatus.REJECTED, "superseded by a new approval", "system:rules")
        approval = Approval(self.uow.approvals.next_id("APPR"), record.order_id, record.version, tuple(reasons),
                            role, self.now, total=record.pricing.total if record.pricing else None)
        self.uow.approvals.put(approval.approval_id, record.order_id, approval)
        self.changed(Entity.APPROVAL, approval.approval_id, "requested", None, plain(approval), record.order_id,
                     "; ".join(reasons))
        return True

    def decide(self, approval: Approval, status: ApprovalStatus, note: str, by: str | None = None) -> Approval:
        decided = replace(approval, status=status, decided_by=by or self.actor, decided_at=self.now,
                          note=note or None)
        self.uow.approvals.put(approval.approval_id, approval.order_id, decided)
        self.changed(Entity.APPROVAL, approval.approval_id, status.value, plain(approval), plain(decided),
                     approval.order_id, note, actor=by)
        return decided


    def evaluate(self, record: OrderRecord, customer: Customer) -> Evaluation | None:
        """The order's event rules (holds, approvals); a failing rule action raises :class:`RuleActionError`."""
        if self.deps.event_rules is None:
            return None
        evaluation = self.deps.event_rules.evaluate(record.order_id, [order_fact(record, customer, self.as_of)])
        evaluation.raise_for_errors()
        return evaluation

    def line_fact(self, record: OrderRecord, customer: Customer, projection: LineProjection) -> dict[str, Any]:
        return line_fact(record, customer, self.as_of, projection)

    # -- process instances -----------------------------------------------------------------------
    def plan(self, order: Order, customer: Customer, first: int = 1) -> tuple[Track, ...]:
        tracks = []
        for n, (process, line_ids) in enumerate(self.processes().plan(order, customer, self.as_of), start=first):
            track, _ = start_track(process, f"{order.order_id}/T{n}", line_ids, self.now)
            tracks.append(Track(track.track_id, process.id, line_ids,
                                tuple(replace(s, status=StepStatus.PENDING, started_at=None, completed_at=None,
                                              sent=None) for s in track.steps)))
        return tuple(tracks)

    def save_instance(self, instance: ProcessInstance, expected: int | None, why: str) -> ProcessInstance:
        if instance.tracks and all(t.done for t in instance.tracks) and instance.stage == Stage.RUNNING:
            instance = replace(instance, stage=Stage.COMPLETED)
        current = self.uow.processes.find(instance.order_id)
        stored = replace(instance, version=(expected or 0) + 1)
        self.uow.processes.put(stored, expected)
        if current is None or current.stage != stored.stage:
            self.changed(Entity.ORDER, instance.order_id, f"fulfilment {why}",
                         current.stage.value if current else None, stored.stage.value, instance.order_id)
        return stored

    def send(self, instance: ProcessInstance, commands: list[Command]) -> ProcessInstance:
        for command in commands:
            self.changed(Entity.STEP, command.command_id, f"sent {command.kind.value}", None, plain(command),
                         instance.order_id)
            self.happened(ShipmentRequested(actor=self.actor, at=self.now, order_id=instance.order_id,
                                            command=command))
        return replace(instance, commands=(*instance.commands, *commands))

    def audit_steps(self, order_id: str, before: Track | None, after: Track, why: str) -> None:
        old = {s.step_id: s for s in before.steps} if before else {}
        for state in after.steps:
            prior = old.get(state.step_id)
            if prior is None or prior.status != state.status or prior.expected_at != state.expected_at:
                moved = state.expected_at is not None and not (prior and prior.expected_at == state.expected_at)
                self.changed(Entity.STEP, f"{after.track_id}/{state.step_id}", why,
                             prior.status.value if prior else None,
                             {"status": state.status.value, "expected_at": state.expected_at.isoformat()}
                             if moved and state.expected_at else state.status.value, order_id)
        if before is not None and after.cancelled and not before.cancelled:
            self.changed(Entity.STEP, after.track_id, why, "open", "cancelled", order_id)

    def run(self, instance: ProcessInstance) -> ProcessInstance:
        """Start every track that is not moving, if the order is running and not held."""
        if instance.stage != Stage.RUNNING or self.active_holds(instance.order_id):
            return instance
        catalogue = self.processes()
        tracks, commands = [], []
        for track in instance.tracks:
            if track.done or track.active is not None:
                tracks.append(track)
                continue
            index = next(i for i, s in enumerate(track.steps) if s.status != StepStatus.DONE)
            new, sent = activate_from(catalogue.get(track.process_id), track, index, self.now)
            self.audit_steps(instance.order_id, track, new, "started")
            tracks.append(new)
            commands.extend(sent)
        if not commands and tuple(tracks) == instance.tracks:
            return instance
        instance = self.send(replace(instance, tracks=tuple(tracks)), commands)
        return self.save_instance(instance, instance.version, "running")

    def awaiting(self, instance: ProcessInstance, event: EventType) -> list[Track]:
        """The tracks whose active step completes on ``event``."""
        catalogue = self.processes()
        found = []
        for track in instance.tracks:
            active = track.active
            if active is None or track.done:
                continue
            process = catalogue.get(track.process_id)
            if process.steps[process.index(active.step_id)].completes_on == event:
                found.append(track)
        return found

    def record_rule_failure(self, order_id: str, error: RuleActionError) -> None:
        """Keep an event-rule failure on the order's process instance (a unit of work of its own commits it)."""
        current = self.uow.processes.find(order_id) or ProcessInstance(order_id, Stage.RUNNING, version=0)
        failed = replace(current, errors=(*current.errors, str(error)))
        self.save_instance(failed, current.version or None, "rule error")
        self.changed(Entity.ORDER, order_id, "event rule failed", None, str(error), order_id)

    # -- payments ------------------------------------------------------------------------------
    def gateway(self) -> PaymentGateway:
        if self.deps.gateway is None:
            raise PaymentError("no payment gateway is configured")
        return self.deps.gateway

    def save_payment(self, before: Payment | None, after: Payment, action: str, reference: str) -> None:
        self.uow.payments.put(after.payment_id, after.order_id, after)
        self.changed(Entity.PAYMENT, after.payment_id, f"{action} ({reference})", plain(before), plain(after),
                     after.order_id)

    def refund(self, payment: Payment, amount: Decimal, why: str) -> Payment:
        refunded = payment.with_refund(amount)
        key = f"{payment.payment_id}:refund:{refunded.refunded}"
        require(self.gateway().refund(payment.reference, Money(amount, payment.currency), key), "refund")
        self.save_payment(payment, refunded, f"refunded {amount} — {why}", payment.reference)
        return refunded

    def void_or_refund_all(self, order_id: str, why: str) -> None:
        """Void open payments and refund what was captured (a cancelled order owes nothing)."""
        if self.deps.gateway is None:
            return
        for payment in self.uow.payments.for_order(order_id):
            if payment.status in (PaymentStatus.AUTHORISED, PaymentStatus.PENDING):
                result = require(self.gateway().void(payment.reference, f"{payment.payment_id}:void"), "void")
                self.save_payment(payment, replace(payment, status=PaymentStatus.VOIDED), "voided", result.reference)
            elif payment.net > 0:
                self.refund(payment, payment.net, why)

    def settle(self, order_id: str) -> Decimal:
        """Bring payments in line with what the order now costs; returns the amount moved (+ charged, − refunded).

        If the order now costs more, the difference is authorised (and
        captured, unless the method is deferred) with the last payment's
        method; if less, the difference is refunded from captured payments,
        newest first.
        """
        payments = sorted(self.uow.payments.for_order(order_id), key=lambda p: p.payment_id)
        if self.deps.gateway is None or not any(p.captured for p in payments):
            return Decimal(0)
        outstanding = self.balance(order_id).outstanding
        if outstanding > 0:
            from .payments import authorise, capture  # the same steps as the desk's own payment commands

            method = payments[-1].method
            payment = authorise(self, order_id, method, outstanding)
            if not method.deferred:
                capture(self, payment)
        elif outstanding < 0:
            left = -outstanding
            for payment in reversed(payments):
                if left == 0:
                    break
                take = min(left, payment.net)
                if take > 0:
                    self.refund(payment, take, "settlement after a change")
                    left -= take
            if left:
                raise PaymentError(f"order {order_id}: {left} is owed back but no captured payment covers it")
        return outstanding


def fired(evaluation: Evaluation | None, section: RuleSection) -> list[Any]:
    if evaluation is None:
        return []
    return [f for f in evaluation.firings if f.rule.section == section]


def stock_items(orders: Iterable[Order]) -> tuple[tuple[str, str], ...]:
    """(item, location) of every line that ships from somewhere."""
    return tuple(dict.fromkeys((line.sku, line.ship_from) for order in orders for line in order.lines
                               if line.ship_from))
