"""``tarif price RULESET_DIR ORDER.json [--explain]``: price one order.

The shell around :func:`pricing_engine.price_order`: it reads the ruleset folder
and the order file (numbers parsed as Decimal, never float), takes the pricing
date from ``--as-of``, else the order's ``as_of`` field, else today (UTC), and
prints the priced order as JSON, or with ``--explain`` a readable waterfall.
Exit codes: 0 priced, 1 the rulesets or the order are invalid, 2 a file is missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pydantic

from pricing_engine import PricedOrder, PricingError, price_order

from ._rulesets import load_or_report


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "price", help="price an order (JSON) with the rulesets below RULESET_DIR")
    parser.add_argument("rulesets", metavar="RULESET_DIR", help="a folder of ruleset files")
    parser.add_argument("order", metavar="ORDER.json", help="the order to price")
    parser.add_argument("--as-of", metavar="YYYY-MM-DD",
                        help="pricing date (default: the order's `as_of`, else today in UTC)")
    parser.add_argument("--explain", action="store_true",
                        help="print a readable waterfall per line instead of JSON")
    parser.set_defaults(handler=run)


def read_order(path: str) -> dict[str, Any]:
    """The order file as plain data; numbers become Decimal (exact), never float."""
    data = json.loads(Path(path).read_text(encoding="utf-8"), parse_float=Decimal)
    if not isinstance(data, dict):
        raise ValueError("an order file holds one JSON object")
    return data


def run(args: argparse.Namespace) -> int:
    try:
        order = read_order(args.order)
    except FileNotFoundError:
        print(f"tarif price: no such file: {args.order}")
        return 2
    except ValueError as exc:
        print(f"{args.order}: not a valid order file: {exc}")
        return 1
    try:
        as_of_text = args.as_of or order.pop("as_of", None)
        order.pop("as_of", None)
        as_of = (dt.date.fromisoformat(str(as_of_text)) if as_of_text
                 else dt.datetime.now(dt.UTC).date())
    except ValueError as exc:
        print(f"tarif price: bad pricing date: {exc}")
        return 1
    bundle = load_or_report(args.rulesets, "price")
    if isinstance(bundle, int):
        return bundle
    try:
        priced = price_order(order, bundle, as_of)
    except pydantic.ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = ".".join(str(p) for p in err["loc"])
            print(f"{args.order}: {loc}: {err['msg']}")
        return 1
    except PricingError as exc:
        print(f"{args.order}: {exc}")
        return 1
    except TypeError as exc:  # a float or a wrongly typed value in the order
        print(f"{args.order}: {exc}")
        return 1
    print(explain(priced) if args.explain else priced.model_dump_json(indent=2))
    return 0


def explain(priced: PricedOrder) -> str:
    """A readable table: each line's waterfall, then taxes, totals and flags."""
    cur = priced.currency
    out = [f"Order {priced.order_id} — {cur}, priced as of {priced.as_of}"]
    width = 78

    def row(label: str, amount: Any, note: str = "") -> str:
        text = f"  {label:<46}{amount!s:>14}"
        return f"{text}  {note}" if note else text

    for ln in priced.lines:
        out.append("")
        head = f"line {ln.line_id}: {ln.sku} × {ln.quantity}" + (f" {ln.unit}" if ln.unit else "")
        out.append(head + (f"   [{ln.price_list}]" if ln.price_list else ""))
        out.append("  " + "-" * (width - 2))
        for s in ln.waterfall:
            change = s.after - s.before
            sign = "+" if change >= 0 else ""
            label = f"{s.stage.value}: {s.rule}"
            out.append(row(label[:46], s.after, f"{sign}{change}"))
            out.append(f"      {s.description}"[:160] + (f"  ({s.ruleset})" if s.ruleset else ""))
        for c in ln.components:
            out.append(row(f"component {c.sku} × {c.quantity}", c.amount,
                           "included" if c.included else ""))
        for ch in ln.charges:
            period = f" per {ch.period}" if ch.period else ""
            out.append(row(f"{ch.kind.value}: {ch.id}{period}", ch.amount,
                           f"due today {ch.due_today}"))
            if ch.first_period_amount is not None:
                detail = f"      first period {ch.first_period_amount}"
                if ch.prorated_days != ch.period_days:
                    detail += f" ({ch.prorated_days}/{ch.period_days} days)"
                detail += f" from {ch.paid_start}, next billing {ch.next_billing}"
                if ch.trial_end:
                    detail += f"; trial until {ch.trial_end}"
                if ch.term_end:
                    detail += f"; term until {ch.term_end} ({ch.term_total} in total)"
                out.append(detail)
        out.append(row("net", ln.net))
        for t in ln.taxes:
            rate = f"{t.rate}%" if t.rate is not None else f"{t.amount_per_unit}/unit"
            out.append(row(f"tax {t.tax_id} {rate} on {t.base}", t.amount))
        out.append(row("gross" + (" (prices include tax)" if ln.prices_include_tax else ""),
                       ln.gross))
        for reason in ln.approval_reasons:
            out.append(f"  ! requires approval: {reason}")
    t = priced.totals
    out += ["", "Totals", "  " + "-" * (width - 2)]
    out.append(row("list amount", t.list_amount))
    out.append(row("discounts", t.discounts))
    out.append(row("net", t.net))
    for tax in priced.taxes:
        out.append(row(f"tax {tax.tax_id} on {tax.base}", tax.amount))
    out.append(row("gross (due today)", t.gross, cur))
    if t.one_time:
        out.append(row("of which one-time charges", t.one_time))
    for r in t.recurring:
        out.append(row(f"recurring per {r.period} (gross)", r.gross, f"net {r.net}"))
    if t.usage_estimate:
        out.append(row("estimated usage per period (net)", t.usage_estimate))
    for p in priced.promotions:
        out.append(f"  promotion {p.rule} ({p.ruleset}): -{p.amount} on lines {', '.join(p.lines)}")
    for w in priced.warnings:
        out.append(f"  warning: {w}")
    if priced.requires_approval:
        out.append("  REQUIRES APPROVAL: " + "; ".join(priced.approval_reasons))
    return "\n".join(out)
