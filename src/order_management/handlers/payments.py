"""Payments: authorise, capture, record a bank transfer's funds, refund.

The gateway is called inside the unit of work with an idempotency key per
operation (``PAY-000001:capture``), so a command retried after a failed
commit asks the gateway for the same operation again, never a second one.
Money that arrives records :class:`PaymentCaptured`; its follow-up moves on
the steps that waited for payment.
"""

from __future__ import annotations

from decimal import Decimal

from pricing_engine import Money

from ..commands import AuthorisePayment, CapturePayment, RecordFundsReceived, RefundPayment
from ..events import PaymentCaptured
from ..fulfilment.errors import PaymentError
from ..fulfilment.payments import Payment, PaymentMethod, PaymentStatus, require
from ..model import OrderStatus
from ..unit_of_work import UnitOfWork
from .context import Dependencies, Handling

__all__ = ["authorise", "authorise_payment", "capture", "capture_payment", "record_funds_received",
           "refund_payment"]


def authorise(h: Handling, order_id: str, method: PaymentMethod, amount: Decimal | None = None) -> Payment:
    """Authorise ``amount`` (default: what is outstanding); deferred methods open as pending."""
    record = h.record_of(order_id)
    if record.order.status == OrderStatus.CANCELLED:
        raise PaymentError(f"order {order_id} is cancelled; nothing is to be paid")
    total = amount if amount is not None else h.balance(order_id).outstanding
    if total <= 0:
        raise PaymentError(f"order {order_id} has nothing to pay ({total})")
    payment_id = h.uow.payments.next_id("PAY")
    result = require(h.gateway().authorise(method, Money(total, record.order.currency), f"{payment_id}:auth"),
                     "authorisation")
    status = PaymentStatus.PENDING if method.deferred else PaymentStatus.AUTHORISED
    payment = Payment(payment_id, order_id, method, record.order.currency, total, result.reference, status)
    h.save_payment(None, payment, "authorised", result.reference)
    return payment


def capture(h: Handling, payment: Payment, amount: Decimal | None = None) -> Payment:
    """Capture an open payment through the gateway (in full by default) and record that the money arrived."""
    amount = payment.authorised if amount is None else amount
    captured = payment.with_capture(amount)
    require(h.gateway().capture(payment.reference, Money(amount, payment.currency),
                                f"{payment.payment_id}:capture"), "capture")
    return _arrived(h, payment, captured, "captured", payment.reference)


def _arrived(h: Handling, before: Payment, captured: Payment, action: str, reference: str) -> Payment:
    """Record that money arrived; the follow-up moves on the steps that waited for it."""
    h.save_payment(before, captured, action, reference)
    h.happened(PaymentCaptured(actor=h.actor, at=h.now, order_id=captured.order_id, payment_id=captured.payment_id,
                               amount=captured.captured))
    return captured


def authorise_payment(cmd: AuthorisePayment, uow: UnitOfWork, deps: Dependencies) -> Payment:
    with uow:
        payment = authorise(Handling(uow, deps, cmd.actor), cmd.order_id, cmd.method, cmd.amount)
        uow.commit()
    return payment


def capture_payment(cmd: CapturePayment, uow: UnitOfWork, deps: Dependencies) -> Payment:
    """Capture an authorised card or wallet payment in full."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        payment = uow.payments.get(cmd.payment_id)
        if payment.method.deferred:
            raise PaymentError(f"payment {cmd.payment_id} is {payment.method.value}: the money is recorded when it "
                               "arrives (funds received, or collected on delivery), not captured")
        captured = capture(h, payment)
        uow.commit()
    return captured


def record_funds_received(cmd: RecordFundsReceived, uow: UnitOfWork, deps: Dependencies) -> Payment:
    """A bank transfer's money arrived: the pending payment is captured for what came in."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        payment = uow.payments.get(cmd.payment_id)
        if payment.method != PaymentMethod.BANK_TRANSFER or payment.status != PaymentStatus.PENDING:
            raise PaymentError(f"payment {cmd.payment_id} is a {payment.method.value} payment that is "
                               f"{payment.status.value}; funds are recorded for a pending bank transfer")
        amount = cmd.amount if cmd.amount is not None else payment.authorised
        if amount > payment.authorised:
            raise PaymentError(f"{amount} received but {payment.authorised} was awaited; record what was awaited "
                               "and refund the difference")
        # the bank's word is the money itself: nothing is asked of the card gateway
        captured = _arrived(h, payment, payment.with_capture(amount), "funds received",
                            cmd.reference or payment.reference)
        uow.commit()
    return captured


def refund_payment(cmd: RefundPayment, uow: UnitOfWork, deps: Dependencies) -> Payment:
    """Give money back from a captured payment; never more than it kept."""
    with uow:
        h = Handling(uow, deps, cmd.actor)
        payment = uow.payments.get(cmd.payment_id)
        refunded = h.refund(payment, cmd.amount, cmd.reason)
        uow.commit()
    return refunded
