"""The fulfilment layer's exceptions, under :class:`order_management.OrderError`.

Each names what the caller can do: a step that does not fit the process
(:class:`StepTransitionError`), an order that is held or waits for approval
(:class:`OrderBlockedError`), an event rule whose action raised
(:class:`RuleActionError`, never swallowed), a declined or impossible payment
(:class:`PaymentError`), a return that does not fit the order
(:class:`ReturnError`).
"""

from __future__ import annotations

from ..errors import OrderError

__all__ = [
    "EventRuleError",
    "FulfilmentError",
    "OrderBlockedError",
    "PaymentDeclinedError",
    "PaymentError",
    "ReturnError",
    "RuleActionError",
    "StepTransitionError",
    "UnknownActionError",
]


class FulfilmentError(OrderError):
    """Base of every error raised by :mod:`order_management.fulfilment`."""


class StepTransitionError(FulfilmentError, ValueError):
    """The event or command does not fit where the order's process is (e.g. no such active step)."""


class OrderBlockedError(FulfilmentError, PermissionError):
    """The order is held or awaits approval; release or decide first."""


class EventRuleError(FulfilmentError, RuntimeError):
    """The event-rule engine failed on an order (not an author error: those are load errors)."""

    def __init__(self, order_id: str, message: str) -> None:
        self.order_id = order_id
        super().__init__(f"order {order_id}: {message}")


class RuleActionError(EventRuleError):
    """An action of an event rule raised; the engine would have swallowed it, we do not."""

    def __init__(self, order_id: str, rule: str, message: str) -> None:
        self.rule = rule
        self.detail = message
        super().__init__(order_id, f"rule {rule!r} failed in its action: {message}")


class PaymentError(FulfilmentError, ValueError):
    """The payment cannot be made as asked (wrong state, nothing to capture, over-refund)."""


class PaymentDeclinedError(PaymentError):
    """The gateway declined; ``code`` is its reason code."""

    def __init__(self, message: str, code: str) -> None:
        self.code = code
        super().__init__(f"{message} (gateway code {code})")


class ReturnError(FulfilmentError, ValueError):
    """The return does not fit the order (unknown line, more than was shipped, counts that do not add up)."""


class UnknownActionError(FulfilmentError, LookupError):
    """Event rules name a host action the adapter was not given."""
