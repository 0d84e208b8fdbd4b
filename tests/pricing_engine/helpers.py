"""Small builders shared by the pricing engine tests (pure: rulesets from text)."""

from __future__ import annotations

import datetime as dt
import textwrap
from typing import Any

from pricing_engine import RULESET_KINDS, PricedOrder, price_order
from rule_language import load_rulesets

DAY = dt.date(2026, 3, 2)


def bundle(*texts: str):
    """Load ruleset texts (``file0.yaml``, ``file1.yaml``, …)."""
    return load_rulesets([(f"file{i}.yaml", textwrap.dedent(t)) for i, t in enumerate(texts)],
                         RULESET_KINDS)


def price(rules: Any, lines: list[dict[str, Any]], as_of: dt.date = DAY, **order: Any) -> PricedOrder:
    data: dict[str, Any] = {"id": "T-1", "currency": "EUR", "ship_to": {"country": "DE"}}
    data.update(order)
    data["lines"] = [{"id": str(i + 1), **ln} for i, ln in enumerate(lines)]
    return price_order(data, rules, as_of)


def price_list(entries: str, *, name: str = "eur", currency: str = "EUR", extra: str = "") -> str:
    """A price list file; ``entries`` and ``extra`` are YAML (entries indented as list items)."""
    head = f"kind: price_list\nname: {name}\nversion: 1\ncurrency: {currency}\n"
    return head + textwrap.dedent(extra) + "entries:\n" + textwrap.indent(textwrap.dedent(entries), "  ")


VAT = """\
kind: tax_rules
name: vat
version: 1
policy: {mode: half_up, scope: line}
taxes:
  - {id: de-19, country: DE, rate: 19, tax_classes: [standard]}
  - {id: de-7, country: DE, rate: 7, tax_classes: [reduced]}
"""
