"""The rule language's static types.

Types are immutable values compared by equality. ``money(None)`` is money in the
document's currency (whatever it is at run time); it is compatible with money of
any one currency, while ``money('EUR')`` and ``money('USD')`` never mix.
Enumerations are strings restricted to known values, so a misspelt literal
(``engine = 'disel'``) is caught at load time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import RuleTypeError

__all__ = [
    "BOOLEAN",
    "DATE",
    "DECIMAL",
    "INTEGER",
    "STRING",
    "BoolType",
    "DateType",
    "DecimalType",
    "EnumType",
    "IntegerType",
    "ListType",
    "MoneyType",
    "RecordType",
    "StringType",
    "Type",
    "enum",
    "list_of",
    "money",
    "record",
    "type_from_spec",
]


class Type:
    """Base of all types."""

    name = "type"

    def __str__(self) -> str:
        return self.name

    @property
    def is_numeric(self) -> bool:
        return isinstance(self, IntegerType | DecimalType | MoneyType)

    @property
    def is_textual(self) -> bool:
        return isinstance(self, StringType | EnumType)


@dataclass(frozen=True)
class BoolType(Type):
    name = "boolean"

    def __str__(self) -> str:
        return "boolean"


@dataclass(frozen=True)
class IntegerType(Type):
    def __str__(self) -> str:
        return "integer"


@dataclass(frozen=True)
class DecimalType(Type):
    def __str__(self) -> str:
        return "decimal"


@dataclass(frozen=True)
class StringType(Type):
    def __str__(self) -> str:
        return "string"


@dataclass(frozen=True)
class DateType(Type):
    def __str__(self) -> str:
        return "date"


@dataclass(frozen=True)
class MoneyType(Type):
    currency: str | None = None

    def __str__(self) -> str:
        return f"money[{self.currency}]" if self.currency else "money"


@dataclass(frozen=True)
class EnumType(Type):
    values: tuple[str, ...] = ()

    def __str__(self) -> str:
        shown = ", ".join(repr(v) for v in self.values[:6])
        more = ", …" if len(self.values) > 6 else ""
        return f"enum[{shown}{more}]"


@dataclass(frozen=True)
class ListType(Type):
    item: Type = field(default_factory=lambda: STRING)

    def __str__(self) -> str:
        return f"list[{self.item}]"


@dataclass(frozen=True)
class RecordType(Type):
    fields: tuple[tuple[str, Type], ...] = ()

    def field(self, name: str) -> Type | None:
        for key, value in self.fields:
            if key == name:
                return value
        return None

    def __str__(self) -> str:
        return "record{" + ", ".join(f"{k}: {v}" for k, v in self.fields) + "}"


BOOLEAN = BoolType()
INTEGER = IntegerType()
DECIMAL = DecimalType()
STRING = StringType()
DATE = DateType()


def money(currency: str | None = None) -> MoneyType:
    """Money in ``currency`` (an ISO 4217 code), or in the document's currency."""
    if currency is not None and not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
        raise RuleTypeError(f"not an ISO 4217 currency code: {currency!r}")
    return MoneyType(currency)


def enum(*values: str) -> EnumType:
    """A string restricted to ``values`` (order kept, duplicates removed)."""
    if not values:
        raise RuleTypeError("an enumeration needs at least one value")
    return EnumType(tuple(dict.fromkeys(str(v) for v in values)))


def list_of(item: Type) -> ListType:
    return ListType(item)


def record(fields: Mapping[str, Type]) -> RecordType:
    return RecordType(tuple(fields.items()))


_SCALARS: dict[str, Type] = {
    "boolean": BOOLEAN,
    "bool": BOOLEAN,
    "integer": INTEGER,
    "int": INTEGER,
    "decimal": DECIMAL,
    "number": DECIMAL,
    "string": STRING,
    "text": STRING,
    "date": DATE,
    "money": MoneyType(None),
}


def type_from_spec(spec: Any) -> Type:
    """Read a type declaration as rule authors write it in YAML.

    >>> type_from_spec("money[EUR]")
    MoneyType(currency='EUR')
    >>> str(type_from_spec({"type": "enum", "values": ["gold", "silver"]}))
    "enum['gold', 'silver']"
    """
    if isinstance(spec, Type):
        return spec
    if isinstance(spec, str):
        text = spec.strip().lower()
        if text in _SCALARS:
            return _SCALARS[text]
        if text.startswith("money[") and text.endswith("]"):
            return money(spec.strip()[6:-1].strip().upper())
        raise RuleTypeError(
            f"unknown type {spec!r}",
            hint="use one of " + ", ".join(sorted({"boolean", "integer", "decimal", "string",
                                                     "date", "money", "money[EUR]"})),
        )
    if isinstance(spec, Mapping):
        kind = spec.get("type")
        if kind == "enum":
            values = spec.get("values")
            if not isinstance(values, list | tuple) or not values:
                raise RuleTypeError("an enum type needs a non-empty list of `values`")
            return enum(*(str(v) for v in values))
        if kind == "list":
            return list_of(type_from_spec(spec.get("of", "string")))
        if kind == "record":
            fields = spec.get("fields")
            if not isinstance(fields, Mapping):
                raise RuleTypeError("a record type needs a mapping of `fields`")
            return record({str(k): type_from_spec(v) for k, v in fields.items()})
        if kind == "money":
            return money(spec.get("currency"))
        if isinstance(kind, str):
            return type_from_spec(kind)
    raise RuleTypeError(f"cannot read a type from {spec!r}")
