"""The order vocabulary: every order name a rule may read, declared once.

Order rules, pricing rules and event rules all read the same order, so they
read it by the same names (``order.id``, ``order.lines``, ``line.sku``,
``ship_to.country``), each with one type and one meaning everywhere: money is
in the order's currency, ``order.channel`` is the same enumeration. A name
also says which rule kinds can read it, because not everything exists
everywhere: ``line.unit_price`` is only known while pricing, ``line.days_late``
only once fulfilment projects a line, ``order.total`` only after pricing.

Each rule kind builds its schema here (:func:`schema_for`), so a name that
exists, but not in that kind, is refused with where it *is* available, and a
name that no longer exists points to its new spelling. The table in
``docs/rule-language.md`` is :func:`vocabulary_table`'s output; a test keeps the
two equal.

>>> schema = schema_for(RuleKind.ORDER)
>>> str(schema.resolve("order.channel"))
"enum['web', 'store', 'call_centre', 'marketplace', 'edi']"
>>> schema.resolve("line.days_late")
Traceback (most recent call last):
  ...
rule_language.errors.UnknownSymbolError: `line.days_late` is only available in event rules
    hint: the order vocabulary in docs/rule-language.md lists who reads what
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import UnknownSymbolError
from .schema import Schema, suggest
from .types import (
    BOOLEAN,
    DATE,
    DECIMAL,
    INTEGER,
    STRING,
    EnumType,
    ListType,
    MoneyType,
    RecordType,
    Type,
    enum,
    list_of,
    money,
    record,
)

__all__ = [
    "CHANNELS",
    "LINE_KINDS",
    "LINE_STATUSES",
    "ORDER_STATUSES",
    "VOCABULARY",
    "RuleKind",
    "Term",
    "VocabularySchema",
    "schema_for",
    "vocabulary_table",
    "vocabulary_term",
]


class RuleKind(StrEnum):
    """The rule kinds that read an order."""

    ORDER = "order"      # order_rules: defaults, validations, change constraints (and process conditions)
    PRICING = "pricing"  # price lists, discounts, tax rules
    EVENT = "event"      # event_rules: jeopardy, holds, approvals

    @property
    def title(self) -> str:
        return f"{self.value} rules"


#: The values of the enumerations, as the order layer's models spell them (a test holds them equal).
CHANNELS = ("web", "store", "call_centre", "marketplace", "edi")
ORDER_STATUSES = ("entered", "booked", "backordered", "on_hold", "awaiting_approval", "in_fulfilment",
                  "shipped", "closed", "cancelled")
LINE_KINDS = ("sku", "configured", "service")
LINE_STATUSES = ("open", "reserved", "backordered", "shipped", "delivered", "cancelled")


@dataclass(frozen=True)
class Term:
    """One name: its type, what it means, who can read it, and what it used to be called."""

    name: str
    type: Type
    description: str
    kinds: frozenset[RuleKind]
    formerly: tuple[str, ...] = ()

    @property
    def per_line(self) -> bool:
        """``line.*`` names exist only where a rule is evaluated for one line."""
        return self.name.startswith("line.")


_ORDER, _PRICING, _EVENT = RuleKind.ORDER, RuleKind.PRICING, RuleKind.EVENT
_ALL = (_ORDER, _PRICING, _EVENT)
_MONEY = money(None)  # in the order's currency, whatever it is


def _t(name: str, type_: Type, kinds: Iterable[RuleKind], description: str, *formerly: str) -> Term:
    return Term(name, type_, description, frozenset(kinds), formerly)


def _party(prefix: str, whose: str, kinds: Iterable[RuleKind], pricing_fields: Iterable[str] = ()) -> list[Term]:
    fields = {"name": "name", "country": "country (ISO 3166-1 alpha-2)", "region": "region",
              "city": "city", "postal_code": "postal code"}
    shared = set(pricing_fields)
    return [_t(f"{prefix}.{key}", STRING, (*kinds, *((_PRICING,) if key in shared else ())),
               f"{whose} {text}") for key, text in fields.items()]


VOCABULARY: tuple[Term, ...] = (
    _t("as_of", DATE, _ALL, "the day the rules are evaluated for (an input, never the clock)"),
    # -- the order
    _t("order.id", STRING, _ALL, "the order's id", "order.order_id"),
    _t("order.channel", enum(*CHANNELS), _ALL, "where the order came from"),
    _t("order.currency", STRING, _ALL, "the order's currency (ISO 4217); every money name is in it"),
    _t("order.status", enum(*ORDER_STATUSES), (_ORDER,), "where the order is in its life"),
    _t("order.requested_date", DATE, (_ORDER, _EVENT), "the delivery date the customer asked for"),
    _t("order.payment_terms", STRING, (_ORDER,), "payment terms, e.g. NET30"),
    _t("order.warehouse", STRING, (_ORDER,), "the preferred ship-from location (a sourcing location)"),
    _t("order.price_list", STRING, (_ORDER,), "the price list asked for"),
    _t("order.source_system", STRING, (_ORDER,), "the system the order was imported from"),
    _t("order.coupons", list_of(STRING), (_ORDER, _PRICING), "the coupon codes entered"),
    _t("order.line_count", INTEGER, _ALL, "the number of lines"),
    _t("order.quantity", DECIMAL, (_PRICING,), "the sum of the lines' quantities"),
    _t("order.lines", list_of(record({"sku": STRING, "kind": enum(*LINE_KINDS), "quantity": DECIMAL,
                                       "product_model": STRING})), (_ORDER,),
       "the lines (`sum(order.lines.quantity)`, `'BIKE' in order.lines.sku`)"),
    _t("order.subtotal", _MONEY, (_ORDER, _EVENT), "the lines' net amount before tax, once priced"),
    _t("order.list_amount", _MONEY, (_PRICING,),
       "the lines at list price, before any discount (pricing rules run before discounts exist)"),
    _t("order.tax", _MONEY, (_ORDER,), "tax of the order, once priced"),
    _t("order.total", _MONEY, (_ORDER, _EVENT), "what the customer pays, tax included, once priced"),
    _t("order.manual_discounts", INTEGER, (_EVENT,), "how many manual discounts the order and its lines carry"),
    *_party("ship_to", "where the order goes:", (_ORDER,), ("country", "region", "postal_code")),
    *_party("bill_to", "who the order is invoiced to:", (_ORDER,)),
    # -- the customer
    _t("customer.id", STRING, _ALL, "the customer's id"),
    _t("customer.name", STRING, (_ORDER,), "the customer's name"),
    _t("customer.segment", STRING, _ALL, "the customer's segment, e.g. gold"),
    _t("customer.account", STRING, (_ORDER, _PRICING), "the contract account the customer buys under"),
    _t("customer.demand_class", STRING, (_ORDER,), "the allocation class for scarce supply"),
    _t("customer.currency", STRING, (_ORDER,), "the customer's usual currency"),
    _t("customer.payment_terms", STRING, (_ORDER,), "the customer's agreed payment terms"),
    _t("customer.credit_limit", _MONEY, (_ORDER,), "the credit limit (unset: no limit)"),
    _t("customer.open_balance", _MONEY, (_ORDER, _EVENT), "what the customer owes today"),
    _t("customer.blocked", BOOLEAN, (_ORDER,), "the customer may not order"),
    _t("customer.tax_exempt", BOOLEAN, (_PRICING,), "the customer holds a tax exemption"),
    *_party("customer.ship_to", "the customer's usual ship-to", (_ORDER,)),
    *_party("customer.bill_to", "the customer's usual bill-to", (_ORDER,)),
    # -- one line (per-line rules, pricing, jeopardy)
    _t("line.id", STRING, _ALL, "the line's id within the order", "line.line_id"),
    _t("line.sku", STRING, _ALL, "the item ordered"),
    _t("line.kind", enum(*LINE_KINDS), (_ORDER, _EVENT), "a plain SKU, a configured product or a service"),
    _t("line.quantity", DECIMAL, _ALL, "units ordered"),
    _t("line.unit", STRING, (_ORDER, _PRICING), "the unit of measure of the quantity"),
    _t("line.product_model", STRING, (_ORDER,), "the product model of a configured line"),
    _t("line.status", enum(*LINE_STATUSES), (_ORDER,), "where the line is in fulfilment"),
    _t("line.requested_date", DATE, (_ORDER,), "the delivery date asked for this line"),
    _t("line.ship_from", STRING, (_ORDER,), "the location the line is promised from"),
    _t("line.net", _MONEY, (_ORDER, _EVENT), "the line's amount after discounts, before tax, once priced"),
    _t("line.category", STRING, (_PRICING,), "the item's catalogue category"),
    _t("line.tax_class", STRING, (_PRICING,), "the item's tax class"),
    _t("line.unit_price", _MONEY, (_PRICING,), "the unit price reached so far in the pricing pipeline"),
    _t("line.amount", _MONEY, (_PRICING,), "the line's amount reached so far in the pricing pipeline"),
    _t("line.list_amount", _MONEY, (_PRICING,), "the line's amount at list price"),
    _t("line.step", STRING, (_EVENT,), "the fulfilment step the line is at"),
    _t("line.days_late", INTEGER, (_EVENT,), "days the projected date is after the promised date"),
    _t("line.days_to_promise", INTEGER, (_EVENT,), "days of slack before the promise (minus days_late)"),
    _t("line.promised_date", DATE, (_EVENT,), "the date promised to the customer"),
    _t("line.projected_date", DATE, (_EVENT,), "the date fulfilment now expects"),
)

_BY_NAME: dict[str, Term] = {t.name: t for t in VOCABULARY}
_FORMERLY: dict[str, Term] = {old: t for t in VOCABULARY for old in t.formerly}

#: What a per-line name needs, in each kind.
_LINE_HINT = {
    RuleKind.ORDER: "add `for_each: line` to the rule, or read `order.lines`",
    RuleKind.EVENT: "jeopardy rules read a line; holds and approvals read the order",
    RuleKind.PRICING: "pricing rules always read one line",
}


def vocabulary_term(name: str) -> Term:
    """The vocabulary's entry for ``name``; unknown names raise with a suggestion.

    >>> vocabulary_term("order.order_id").name
    'order.id'
    """
    found = _BY_NAME.get(name) or _FORMERLY.get(name)
    if found is None:
        raise UnknownSymbolError(f"`{name}` is not in the order vocabulary",
                                 hint=suggest(name, list(_BY_NAME)))
    return found


@dataclass(frozen=True)
class VocabularySchema(Schema):
    """A :class:`Schema` for one rule kind that knows the rest of the vocabulary.

    A name the vocabulary has but this kind cannot read is refused with where
    it can be read; a former name points to its new one. Everything else is
    a plain schema (``extend`` keeps the kind).
    """

    kind: RuleKind = RuleKind.ORDER
    per_line: bool = True

    def extend(self, declarations: Mapping[str, Any]) -> VocabularySchema:
        return VocabularySchema(super().extend(declarations).root, self.kind, self.per_line)

    def resolve(self, path: str) -> Type:
        try:
            return super().resolve(path)
        except UnknownSymbolError as exc:
            raise self._explain(path) or exc from None

    def _explain(self, path: str) -> UnknownSymbolError | None:
        renamed = _FORMERLY.get(path)
        if renamed is not None:
            return UnknownSymbolError(f"unknown symbol `{path}`",
                                      hint=f"did you mean `{renamed.name}`? (the order vocabulary's name)")
        terms = _terms_at(path)
        if not terms:
            return None
        kinds = set().union(*(t.kinds for t in terms))
        if self.kind not in kinds:
            where = " and ".join(k.value for k in RuleKind if k in kinds) + " rules"
            instead = _INSTEAD.get((path, self.kind))
            return UnknownSymbolError(f"`{path}` is only available in {where}",
                                      hint=f"in {self.kind.value} rules, read `{instead}`" if instead else
                                      "the order vocabulary in docs/rule-language.md lists who reads what")
        if not self.per_line and all(t.per_line for t in terms):
            return UnknownSymbolError(f"`{path}` is only available in per-line rules", hint=_LINE_HINT[self.kind])
        return None


def _terms_at(path: str) -> list[Term]:
    """The terms ``path`` names: itself, the list or record it goes through, or the terms below it."""
    if path in _BY_NAME:
        return [_BY_NAME[path]]
    above = [t for t in VOCABULARY if path.startswith(t.name + ".")]
    return above or [t for t in VOCABULARY if t.name.startswith(path + ".")]


def schema_for(kind: RuleKind, *, per_line: bool = True, extra: Mapping[str, Any] | None = None) -> VocabularySchema:
    """The names ``kind`` reads (without ``line.*`` unless ``per_line``), plus ``extra``.

    ``extra`` is for names that are not about the order (a derived price list's
    ``cost``); an order name belongs in :data:`VOCABULARY`.

    >>> "line.unit_price" in schema_for(RuleKind.PRICING), "line.unit_price" in schema_for(RuleKind.EVENT)
    (True, False)
    """
    declared = {t.name: t.type for t in VOCABULARY if kind in t.kinds and (per_line or not t.per_line)}
    clashes = sorted(set(extra or {}) & set(_BY_NAME))
    if clashes:
        raise ValueError(f"{', '.join(clashes)} belong(s) to the order vocabulary; declare them there")
    base = VocabularySchema(Schema.of(declared).root, kind, per_line)
    return base.extend(extra) if extra else base


def _type_text(type_: Type) -> str:
    if isinstance(type_, ListType) and isinstance(type_.item, RecordType):
        return "list of {" + ", ".join(name for name, _ in type_.item.fields) + "}"
    if isinstance(type_, ListType):
        return f"list of {type_.item}"
    if isinstance(type_, EnumType):
        return "one of " + ", ".join(f"`{v}`" for v in type_.values)
    if isinstance(type_, MoneyType) and type_.currency is None:
        return "money (order currency)"
    return str(type_)


#: Where a name means something a rule kind cannot know yet, the name that kind reads instead.
_INSTEAD = {("order.subtotal", RuleKind.PRICING): "order.list_amount"}

def vocabulary_table() -> str:
    """The vocabulary as the Markdown table of ``docs/rule-language.md``.

    >>> print(vocabulary_table().splitlines()[2])
    | `as_of` | date | ✓ | ✓ | ✓ | the day the rules are evaluated for (an input, never the clock) |
    """
    rows = ["| name | type | order rules | pricing rules | event rules | meaning |",
            "|---|---|:-:|:-:|:-:|---|"]
    for t in VOCABULARY:
        marks = " | ".join("✓" if k in t.kinds else "" for k in RuleKind)
        formerly = "; formerly " + ", ".join(f"`{o}`" for o in t.formerly) if t.formerly else ""
        rows.append(f"| `{t.name}` | {_type_text(t.type)} | {marks} | {t.description}{formerly} |")
    return "\n".join(rows)
