"""Tax arithmetic: percent and fixed-per-unit taxes, tax on tax, included and
excluded prices, unit-, line- and document-level rounding.

Which taxes apply to a line (jurisdiction, tax class, exemptions, groups) is
decided by the ``tax_rules`` ruleset kind; this module only does the arithmetic on
the ordered list of :class:`TaxRate` it is given, under a :class:`TaxPolicy`.

* Taxes apply in list order. A tax with ``compounds=True`` ("tax on tax") is part
  of the base of every later tax.
* Price-excluded: the line amount is the net; each tax is computed on its base.
* Price-included: the line amount is the gross. The net is solved from the tax
  chain (which is affine in the net), each tax is rounded, and the net is the
  gross minus the rounded taxes, so the gross is never changed by tax rounding.
* Scope ``UNIT``: taxes are computed and rounded on the unit amount and multiplied
  by the quantity; ``LINE``: computed and rounded per line; ``DOCUMENT``: lines
  carry exact amounts until :func:`settle_document_taxes` rounds each tax's
  document total and spreads the difference from the rounded line amounts back
  over the lines (largest remainder, see :func:`pricing_engine.allocation.allocate`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from pricing_engine.allocation import allocate
from pricing_engine.money import Money, to_decimal
from pricing_engine.rounding import (
    DECIMAL_CONTEXT,
    RoundingMode,
    RoundingScope,
    exact_sum,
    in_decimal_context,
    quantize,
)

__all__ = [
    "LineTax",
    "TaxAmount",
    "TaxKind",
    "TaxPolicy",
    "TaxRate",
    "settle_document_taxes",
    "tax_line",
]

_CTX = DECIMAL_CONTEXT
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)


class TaxKind(StrEnum):
    """``PERCENT`` of the base, or a ``FIXED_PER_UNIT`` amount (excise, eco-fee)."""

    PERCENT = "percent"
    FIXED_PER_UNIT = "fixed_per_unit"


@dataclass(frozen=True, slots=True)
class TaxRate:
    """One tax as applied to a line: ``rate`` is in percent (19 → 19 %)."""

    id: str
    name: str
    kind: TaxKind = TaxKind.PERCENT
    rate: Decimal = _ZERO
    amount_per_unit: Decimal = _ZERO
    compounds: bool = False
    source: str = ""  # "ruleset@version" that defined it, for the waterfall
    group: str | None = None  # e.g. all the taxes of one US state: reported together


@dataclass(frozen=True, slots=True)
class TaxPolicy:
    """Rounding and inclusion as data on the tax ruleset."""

    mode: RoundingMode = RoundingMode.HALF_UP
    scope: RoundingScope = RoundingScope.LINE
    prices_include_tax: bool = False


@dataclass(frozen=True, slots=True)
class TaxAmount:
    """One tax on one line: ``raw`` is exact, ``amount`` rounded (once settled)."""

    rate: TaxRate
    base: Decimal
    raw: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class LineTax:
    """A line's net, gross and taxes. ``settled`` is False while document rounding is due."""

    net: Decimal
    gross: Decimal
    taxes: tuple[TaxAmount, ...]
    settled: bool = True

    @property
    def tax_total(self) -> Decimal:
        return exact_sum(t.amount for t in self.taxes)


def _chain(
    net: Decimal,
    quantity: Decimal,
    rates: Sequence[TaxRate],
    rounder: Callable[[Decimal], Decimal] | None,
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """(base, raw, amount) per tax for a net; ``rounder`` None keeps amounts exact."""
    out: list[tuple[Decimal, Decimal, Decimal]] = []
    compounded = _ZERO
    for r in rates:
        base = _CTX.add(net, compounded)
        if r.kind is TaxKind.PERCENT:
            raw = _CTX.divide(_CTX.multiply(base, r.rate), _HUNDRED)
        else:
            raw = _CTX.multiply(r.amount_per_unit, quantity)
        amount = raw if rounder is None else rounder(raw)
        out.append((base, raw, amount))
        if r.compounds:
            compounded = _CTX.add(compounded, amount)
    return out


@in_decimal_context
def tax_line(
    amount: Decimal,
    quantity: Decimal | int,
    rates: Sequence[TaxRate],
    policy: TaxPolicy,
    currency: str,
) -> LineTax:
    """Tax one line whose amount is net (or gross if ``policy.prices_include_tax``).

    Unit- vs line-level rounding (1.08 × 3 at 19 %):

    >>> vat = [TaxRate("vat", "VAT 19%", rate=Decimal(19))]
    >>> tax_line(Decimal("3.24"), 3, vat, TaxPolicy(), "EUR").gross
    Decimal('3.86')
    >>> unit = TaxPolicy(scope=RoundingScope.UNIT)
    >>> tax_line(Decimal("3.24"), 3, vat, unit, "EUR").gross
    Decimal('3.87')

    A zero-decimal currency, excluded and included:

    >>> tax_line(Decimal("22689"), 1, vat, TaxPolicy(), "JPY").taxes[0].amount
    Decimal('4311')
    >>> inc = tax_line(Decimal("27000"), 1, vat, TaxPolicy(prices_include_tax=True), "JPY")
    >>> inc.net, inc.tax_total
    (Decimal('22689'), Decimal('4311'))
    """
    amt = to_decimal(amount, "a line amount")
    q = to_decimal(quantity, "a quantity")
    mode = policy.mode

    def rounder(x: Decimal) -> Decimal:
        return quantize(x, currency, mode)

    if not rates:
        return LineTax(amt, amt, ())
    scope = policy.scope
    if not policy.prices_include_tax:
        if scope is RoundingScope.UNIT and q:
            unit_net = _CTX.divide(amt, q)
            unit = _chain(unit_net, Decimal(1), rates, rounder)
            line = _chain(amt, q, rates, None)
            taxes = tuple(
                TaxAmount(r, lb, lraw, _CTX.multiply(ua, q))
                for r, (_, _, ua), (lb, lraw, _) in zip(rates, unit, line, strict=True)
            )
        else:
            settled = scope is not RoundingScope.DOCUMENT
            chain = _chain(amt, q, rates, rounder if settled else None)
            taxes = tuple(TaxAmount(r, b, raw, a) for r, (b, raw, a) in zip(rates, chain, strict=True))
        total = sum((t.amount for t in taxes), _ZERO)
        return LineTax(amt, _CTX.add(amt, total), taxes, scope is not RoundingScope.DOCUMENT)

    # Price-included: gross = g(net) = alpha * net + beta, solve for the net.
    def solve(gross: Decimal, qty: Decimal) -> Decimal:
        g0 = _CTX.add(_ZERO, sum((a for _, _, a in _chain(_ZERO, qty, rates, None)), _ZERO))
        g1 = _CTX.add(Decimal(1), sum((a for _, _, a in _chain(Decimal(1), qty, rates, None)), _ZERO))
        alpha = _CTX.subtract(g1, g0)
        return _CTX.divide(_CTX.subtract(gross, g0), alpha)

    if scope is RoundingScope.UNIT and q:
        unit_gross = _CTX.divide(amt, q)
        unit_chain = _chain(solve(unit_gross, Decimal(1)), Decimal(1), rates, None)
        line_chain = _chain(solve(amt, q), q, rates, None)
        taxes = tuple(
            TaxAmount(r, lb, lraw, _CTX.multiply(rounder(uraw), q))
            for r, (_, uraw, _), (lb, lraw, _) in zip(rates, unit_chain, line_chain, strict=True)
        )
        settled = True
    else:
        settled = scope is not RoundingScope.DOCUMENT
        chain = _chain(solve(amt, q), q, rates, None)
        taxes = tuple(
            TaxAmount(r, b, raw, rounder(raw) if settled else raw)
            for r, (b, raw, _) in zip(rates, chain, strict=True)
        )
    total = sum((t.amount for t in taxes), _ZERO)
    return LineTax(_CTX.subtract(amt, total), amt, taxes, settled)


@in_decimal_context
def settle_document_taxes(
    lines: Sequence[LineTax], policy: TaxPolicy, currency: str
) -> list[LineTax]:
    """Round document-scope taxes: each tax's document total is the rounded sum of
    its exact line amounts; lines get their rounded amounts plus a share of the
    difference, allocated by the size of their exact amounts, so line taxes sum
    exactly to the document tax. Lines already settled are returned unchanged.

    >>> vat = [TaxRate("vat", "VAT", rate=Decimal(19))]
    >>> doc = TaxPolicy(scope=RoundingScope.DOCUMENT)
    >>> lines = [tax_line(Decimal("0.03"), 1, vat, doc, "EUR") for _ in range(3)]
    >>> [str(t.tax_total) for t in settle_document_taxes(lines, doc, "EUR")]
    ['0.00', '0.01', '0.01']
    """
    pending = [i for i, ln in enumerate(lines) if not ln.settled]
    if not pending:
        return list(lines)
    mode = policy.mode
    # tax id -> [(line index, position in the line's taxes)]
    where: dict[str, list[tuple[int, int]]] = {}
    for i in pending:
        for k, t in enumerate(lines[i].taxes):
            where.setdefault(t.rate.id, []).append((i, k))
    amounts: dict[tuple[int, int], Decimal] = {}
    for spots in where.values():
        raws = [lines[i].taxes[k].raw for i, k in spots]
        rounded = [quantize(r, currency, mode) for r in raws]
        doc_total = quantize(sum(raws, _ZERO), currency, mode)
        diff = Money(_CTX.subtract(doc_total, sum(rounded, _ZERO)), currency)
        shares = allocate(diff, [abs(r) for r in raws])
        for (i, k), r, s in zip(spots, rounded, shares, strict=True):
            amounts[(i, k)] = _CTX.add(r, s.amount)
    out: list[LineTax] = list(lines)
    for i in pending:
        ln = lines[i]
        taxes = tuple(replace(t, amount=amounts[(i, k)]) for k, t in enumerate(ln.taxes))
        total = sum((t.amount for t in taxes), _ZERO)
        if policy.prices_include_tax:
            out[i] = LineTax(_CTX.subtract(ln.gross, total), ln.gross, taxes, True)
        else:
            out[i] = LineTax(ln.net, _CTX.add(ln.net, total), taxes, True)
    return out
