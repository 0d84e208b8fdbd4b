"""Payments: card, PayPal, bank transfer and cash on delivery behind one :class:`PaymentGateway`.

The gateway is a Protocol (authorise, capture, refund, void), so a host plugs
in its payment service provider; :class:`TestGateway` is a deterministic
stand-in for tests and demos. Amounts are :class:`pricing_engine.Money` —
never floats — and every call carries an idempotency key so a retried call
cannot charge twice.

Methods differ in when money moves: a card or PayPal payment is authorised at
booking and captured at invoicing; a bank transfer is *pending* until the funds
arrive (then captured); cash on delivery is pending until the courier collects
it at delivery.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

from pricing_engine import Money

from .errors import PaymentDeclinedError, PaymentError

__all__ = [
    "GatewayResult",
    "Payment",
    "PaymentGateway",
    "PaymentMethod",
    "PaymentStatus",
    "TestGateway",
    "captured_net",
]


class PaymentMethod(StrEnum):
    CARD = "card"
    PAYPAL = "paypal"
    BANK_TRANSFER = "bank_transfer"
    CASH_ON_DELIVERY = "cash_on_delivery"

    @property
    def deferred(self) -> bool:
        """Money arrives later (funds received, cash collected): authorising only opens the payment."""
        return self in (PaymentMethod.BANK_TRANSFER, PaymentMethod.CASH_ON_DELIVERY)


class PaymentStatus(StrEnum):
    PENDING = "pending"          # bank transfer or cash on delivery: waiting for the money
    AUTHORISED = "authorised"
    CAPTURED = "captured"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"


@dataclass(frozen=True)
class GatewayResult:
    approved: bool
    reference: str
    code: str = "ok"
    message: str = ""


class PaymentGateway(Protocol):
    """A payment service provider. Each call is idempotent on ``key``."""

    def authorise(self, method: PaymentMethod, amount: Money, key: str) -> GatewayResult: ...

    def capture(self, reference: str, amount: Money, key: str) -> GatewayResult: ...

    def refund(self, reference: str, amount: Money, key: str) -> GatewayResult: ...

    def void(self, reference: str, key: str) -> GatewayResult: ...


@dataclass(frozen=True)
class Payment:
    """One payment of an order and what has happened to it, in the order's currency."""

    payment_id: str
    order_id: str
    method: PaymentMethod
    currency: str
    authorised: Decimal
    reference: str
    status: PaymentStatus
    captured: Decimal = Decimal(0)
    refunded: Decimal = Decimal(0)

    @property
    def net(self) -> Decimal:
        """Money kept: captured minus refunded."""
        return self.captured - self.refunded

    def with_capture(self, amount: Decimal) -> Payment:
        if self.status not in (PaymentStatus.AUTHORISED, PaymentStatus.PENDING):
            raise PaymentError(f"payment {self.payment_id} is {self.status.value}; only an open payment is captured")
        if amount <= 0 or amount > self.authorised:
            raise PaymentError(f"cannot capture {amount} of payment {self.payment_id} (authorised {self.authorised})")
        return replace(self, captured=amount, status=PaymentStatus.CAPTURED)

    def with_refund(self, amount: Decimal) -> Payment:
        if amount <= 0 or amount > self.net:
            raise PaymentError(f"cannot refund {amount} of payment {self.payment_id}; {self.net} is refundable")
        refunded = self.refunded + amount
        status = PaymentStatus.REFUNDED if refunded == self.captured else PaymentStatus.PARTIALLY_REFUNDED
        return replace(self, refunded=refunded, status=status)


def captured_net(payments: list[Payment]) -> Decimal:
    """What the customer has paid and kept paid: the sum of every payment's :attr:`Payment.net`."""
    return sum((p.net for p in payments), Decimal(0))


class TestGateway:
    """A deterministic gateway: approves everything up to ``limit`` per authorisation.

    Bank transfers and cash on delivery authorise as pending; a bank transfer
    captures only after :meth:`funds_received`. ``fail_next`` makes the next
    call decline with that code. Every call is recorded in ``calls``; a repeated
    idempotency key returns the first approved answer (a declined call may be
    retried with the same key, as most providers allow).

    >>> gateway = TestGateway()
    >>> auth = gateway.authorise(PaymentMethod.CARD, Money(Decimal("10.00"), "EUR"), "k1")
    >>> auth.approved, auth.reference
    (True, 'tg-1')
    >>> gateway.authorise(PaymentMethod.CARD, Money(Decimal("10.00"), "EUR"), "k1") == auth
    True
    """

    __test__ = False  # not a pytest test class

    def __init__(self, limit: Decimal = Decimal("50000")) -> None:
        self.limit = limit
        self.fail_next: str | None = None
        self.calls: list[tuple[str, str, Decimal | None]] = []
        self._by_key: dict[str, GatewayResult] = {}
        self._ids = itertools.count(1)
        self._methods: dict[str, PaymentMethod] = {}
        self._funds: set[str] = set()
        self._lock = threading.Lock()

    def funds_received(self, reference: str) -> None:
        """The bank transfer behind ``reference`` has arrived."""
        self._funds.add(reference)

    def _answer(self, key: str, call: str, reference: str, amount: Money | None, decide) -> GatewayResult:  # type: ignore[no-untyped-def]
        with self._lock:
            if key in self._by_key:
                return self._by_key[key]
            self.calls.append((call, reference, amount.amount if amount else None))
            if self.fail_next is not None:
                result = GatewayResult(False, reference, self.fail_next, "declined on request")
                self.fail_next = None
            else:
                result = decide()
            if result.approved:
                self._by_key[key] = result
            return result

    def authorise(self, method: PaymentMethod, amount: Money, key: str) -> GatewayResult:
        reference = f"tg-{next(self._ids)}"

        def decide() -> GatewayResult:
            if amount.amount > self.limit:
                return GatewayResult(False, reference, "over_limit", f"more than {self.limit}")
            self._methods[reference] = method
            return GatewayResult(True, reference, "pending" if method.deferred else "ok")
        return self._answer(key, "authorise", reference, amount, decide)

    def capture(self, reference: str, amount: Money, key: str) -> GatewayResult:
        def decide() -> GatewayResult:
            if self._methods.get(reference) == PaymentMethod.BANK_TRANSFER and reference not in self._funds:
                return GatewayResult(False, reference, "funds_not_received", "the transfer has not arrived")
            return GatewayResult(True, reference)
        return self._answer(key, "capture", reference, amount, decide)

    def refund(self, reference: str, amount: Money, key: str) -> GatewayResult:
        return self._answer(key, "refund", reference, amount, lambda: GatewayResult(True, reference))

    def void(self, reference: str, key: str) -> GatewayResult:
        return self._answer(key, "void", reference, None, lambda: GatewayResult(True, reference))


def require(result: GatewayResult, what: str) -> GatewayResult:
    """``result`` if approved; else :class:`PaymentDeclinedError`."""
    if not result.approved:
        raise PaymentDeclinedError(f"{what} declined: {result.message or result.code}", result.code)
    return result
