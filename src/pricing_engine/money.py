"""Money: an immutable Decimal amount in one currency.

Arithmetic across currencies raises :class:`CurrencyMismatchError`; a float
anywhere raises ``TypeError`` (binary floats cannot represent 0.10). Amounts are
*not* rounded implicitly: multiplying by a rate keeps every digit until a caller
rounds with :meth:`Money.round` (which goes through
:func:`pricing_engine.rounding.quantize`, the package's one rounding function).
Sums start from :meth:`Money.zero`.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from pricing_engine.errors import CurrencyMismatchError, UnknownCurrencyError
from pricing_engine.rounding import (
    DECIMAL_CONTEXT,
    RoundingMode,
    known_currencies,
    minor_unit,
    quantize,
)

__all__ = ["Money", "to_decimal"]

_CTX = DECIMAL_CONTEXT


def to_decimal(value: object, what: str = "value") -> Decimal:
    """Accept a Decimal, an int or a numeric string; refuse floats and booleans.

    >>> to_decimal("1.10")
    Decimal('1.10')
    >>> to_decimal(1.1)
    Traceback (most recent call last):
    ...
    TypeError: value must be a Decimal, int or numeric string, not float (1.1)
    """
    t = type(value)
    if t is Decimal:
        return value  # type: ignore[return-value]
    if t is int:
        return Decimal(value)  # type: ignore[arg-type]
    if t is str:
        try:
            d = Decimal(value)  # type: ignore[arg-type]
        except ArithmeticError:
            raise TypeError(f"{what} {value!r} is not a number") from None
        if not d.is_finite():
            raise TypeError(f"{what} {value!r} is not a finite number")
        return d
    raise TypeError(f"{what} must be a Decimal, int or numeric string, not {t.__name__} ({value!r})")


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency.

    >>> Money(Decimal("1.08"), "EUR") * 3
    Money(amount=Decimal('3.24'), currency='EUR')
    >>> Money(Decimal("1"), "EUR") + Money(Decimal("1"), "USD")
    Traceback (most recent call last):
    ...
    pricing_engine.errors.CurrencyMismatchError: cannot add EUR and USD amounts
    >>> Money(Decimal("2"), "EUR") * 0.5
    Traceback (most recent call last):
    ...
    TypeError: a Money factor must be a Decimal, int or numeric string, not float (0.5)
    """

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if type(self.amount) is not Decimal:
            object.__setattr__(self, "amount", to_decimal(self.amount, "a Money amount"))
        if not self.amount.is_finite():
            raise TypeError(f"a Money amount must be finite, got {self.amount}")
        if self.currency not in known_currencies():
            raise UnknownCurrencyError(
                f"unknown currency {self.currency!r}; use an ISO 4217 code such as 'EUR'"
            )

    @classmethod
    def zero(cls, currency: str) -> Money:
        """The additive identity of ``currency``; start every sum here."""
        return cls(Decimal(0), currency)

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str) -> Money:
        """Build from a Decimal, an int or a numeric string (never a float)."""
        return cls(to_decimal(amount, "a Money amount"), currency)

    def _same(self, other: object, op: str) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"cannot {op} Money and {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatchError(
                f"cannot {op} {self.currency} and {other.currency} amounts"
            )
        return other

    def __add__(self, other: Money) -> Money:
        o = self._same(other, "add")
        return Money(_CTX.add(self.amount, o.amount), self.currency)

    def __sub__(self, other: Money) -> Money:
        o = self._same(other, "subtract")
        return Money(_CTX.subtract(self.amount, o.amount), self.currency)

    def __mul__(self, factor: Decimal | int | str) -> Money:
        if isinstance(factor, Money):
            raise TypeError("cannot multiply Money by Money")
        f = to_decimal(factor, "a Money factor")
        return Money(_CTX.multiply(self.amount, f), self.currency)

    __rmul__ = __mul__

    def __truediv__(self, divisor: Decimal | int | str) -> Money:
        if isinstance(divisor, Money):
            raise TypeError("divide Money by a number; for a ratio use a.amount / b.amount")
        d = to_decimal(divisor, "a Money divisor")
        return Money(_CTX.divide(self.amount, d), self.currency)

    def __neg__(self) -> Money:
        return Money(_CTX.minus(self.amount), self.currency)

    def __abs__(self) -> Money:
        return Money(_CTX.abs(self.amount), self.currency)

    def __bool__(self) -> bool:
        return bool(self.amount)

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same(other, "compare").amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same(other, "compare").amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same(other, "compare").amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same(other, "compare").amount

    def round(self, mode: RoundingMode, step: Decimal | None = None) -> Money:
        """Round to the currency's precision (and ``step``) in ``mode``.

        >>> Money(Decimal("4310.91"), "JPY").round(RoundingMode.HALF_UP)
        Money(amount=Decimal('4311'), currency='JPY')
        """
        return Money(quantize(self.amount, self.currency, mode, step), self.currency)

    def is_rounded(self) -> bool:
        """True when the amount has no digits below the currency's minor unit."""
        return self.amount == self.amount.quantize(minor_unit(self.currency), context=_CTX)

    def convert(self, currency: str, rate: Decimal) -> Money:
        """Convert with ``rate`` (units of ``currency`` per unit of this one), unrounded.

        Conversion happens before rounding: round the converted amount once, in the
        target currency's precision.

        >>> Money(Decimal("10.00"), "EUR").convert("USD", Decimal("1.0850"))
        Money(amount=Decimal('10.850000'), currency='USD')
        """
        r = to_decimal(rate, "an exchange rate")
        if r <= 0:
            raise ValueError(f"an exchange rate must be positive, got {r}")
        return Money(_CTX.multiply(self.amount, r), currency)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"
