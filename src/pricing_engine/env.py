"""The symbols pricing rules may read, and the environments they are evaluated on.

Every pricing expression (entry and discount conditions, option-price formulas,
derived-list formulas, tax conditions) is type-checked at load time against
:func:`pricing_schema` — the pricing names of the one order vocabulary
(:mod:`rule_language.vocabulary`, shared with order and event rules) —
optionally extended by the file's own ``inputs:`` declarations for
``line.options.*`` and ``customer.attributes.*``. At pricing
time the engine builds one nested mapping per order and one per line; values are
Decimals, never floats. Absent text values are ``None`` (a comparison with them is
simply false); money values are Decimals in the order currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from rule_language import RuleKind, RuleLanguageError, Schema, money, schema_for, type_from_spec

__all__ = [
    "DECLARABLE_PREFIXES",
    "declared_schema",
    "derived_schema",
    "pricing_schema",
]

#: Derived price-list formulas also read the base list's price and the cost (not order names).
_DERIVED_SYMBOLS: dict[str, Any] = {"base_price": money(None), "cost": money(None)}


@cache
def pricing_schema() -> Schema:
    """What every pricing expression may read: the order vocabulary's pricing names.

    Built on first use, then shared. A name other rule kinds read but pricing
    does not (``order.total``, ``line.days_late``) is refused saying where it is
    available; the names and their meanings are listed in docs/rule-language.md.
    """
    return schema_for(RuleKind.PRICING)


def derived_schema(schema: Schema) -> Schema:
    """``schema`` plus what a derived price list's formula reads."""
    return schema.extend(_DERIVED_SYMBOLS)


#: ``inputs:`` may only declare symbols under these prefixes.
DECLARABLE_PREFIXES = ("line.options.", "customer.attributes.")


def declared_schema(
    base: Schema, inputs: Mapping[str, Any], report: Any, path: tuple[Any, ...]
) -> Schema:
    """``base`` extended by a file's ``inputs:`` (``{"line.options.length": "integer"}``).

    Problems go to ``report(path, message, hint)``; bad declarations are skipped.
    """
    extra: dict[str, Any] = {}
    for name, spec in inputs.items():
        where = (*path, name)
        if not str(name).startswith(DECLARABLE_PREFIXES):
            report(where, f"cannot declare {name!r}",
                   f"inputs may declare {' or '.join(p + '*' for p in DECLARABLE_PREFIXES)}")
            continue
        try:
            extra[str(name)] = type_from_spec(spec)
        except RuleLanguageError as exc:
            report(where, exc.message, exc.hint)
    return base.extend(extra) if extra else base
