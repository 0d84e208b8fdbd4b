"""What a client may send, stated once: sizes, lengths, ranges and nesting of order input.

Every limit an order, a command or a batch must keep is a constant or an
``Annotated`` type here. The input models (:mod:`order_management.model`,
:mod:`order_management.commands`) are built from these types, so an app that
embeds the library gets the same located errors (``lines[3].quantity: Input
should be less than or equal to 1000000``) as the host's API, which uses the
same constants for its body size, page sizes and search terms.

Why these numbers:

- text lengths match the host's columns (``oms_host.storage.schema``): an id
  that fits the model always fits the table, on SQLite and PostgreSQL alike;
- amounts and quantities have at most 6 decimal places and stay far below
  ``NUMERIC(20, 6)``'s 10^14, even summed over :data:`MAX_LINES_PER_ORDER`
  lines (:data:`MAX_ORDER_TOTAL` is checked after pricing, which multiplies
  catalogue prices the client does not choose);
- :data:`MAX_LINES_PER_ORDER` is what promising accepts in one request;
- text never holds a NUL character: PostgreSQL refuses it in any text value.

>>> from pydantic import TypeAdapter
>>> TypeAdapter(PositiveQuantity).validate_python("2.5")
Decimal('2.5')
>>> from pydantic import ValidationError
>>> try:
...     TypeAdapter(Annotated[str, Text(10)]).validate_python("a\\x00b")
... except ValidationError as exc:
...     print(exc.errors()[0]["msg"])
Value error, text must not contain a NUL character (at position 1)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

__all__ = [
    "ACTOR_LENGTH",
    "ID_LENGTH",
    "LINE_ID_PATTERN",
    "MAX_AMOUNT",
    "MAX_BODY_BYTES",
    "MAX_JSON_DEPTH",
    "MAX_LINES_PER_ORDER",
    "MAX_LIST_ITEMS",
    "MAX_MAP_ENTRIES",
    "MAX_OFFSET",
    "MAX_ORDERS_PER_IMPORT",
    "MAX_ORDER_TOTAL",
    "MAX_PAGE_SIZE",
    "MAX_QUANTITY",
    "MAX_SCALE",
    "MAX_VERSION",
    "NOTE_LENGTH",
    "REASON_LENGTH",
    "SEARCH_LENGTH",
    "Amount",
    "ExternalRef",
    "LineId",
    "NonNegativeQuantity",
    "OptionValue",
    "OrderId",
    "Percentage",
    "PositiveAmount",
    "PositiveQuantity",
    "RecordId",
    "Sku",
    "SourceSystem",
    "Text",
    "exact",
    "json_depth",
    "no_nul",
]

# -- sizes of a request ---------------------------------------------------------------------------------------
#: Bytes in one request body (JSON order, import batch, CSV, form post); the host answers 413 beyond.
MAX_BODY_BYTES = 4 * 1024 * 1024
#: Arrays and objects nested in one JSON document; an order batch needs 7 levels.
MAX_JSON_DEPTH = 32
#: Lines in one order: what promising plans in one request (``DemandRequest.lines``).
MAX_LINES_PER_ORDER = 2000
#: Orders in one import batch.
MAX_ORDERS_PER_IMPORT = 1000
#: Items of the smaller lists of an order (coupons, manual discounts, return lines).
MAX_LIST_ITEMS = 50
#: Entries of an order's or a line's maps (options, attributes, service usage).
MAX_MAP_ENTRIES = 100
#: Rows in one page of a list, and the furthest row a page may start at.
MAX_PAGE_SIZE = 500
MAX_OFFSET = 1_000_000

# -- numbers ----------------------------------------------------------------------------------------------------
#: Decimal places of a quantity or an amount: the scale of the host's ``NUMERIC(20, 6)`` columns.
MAX_SCALE = 6
#: Units of one order line (promising's ``DemandLine`` accepts up to ten times more).
MAX_QUANTITY = Decimal(1_000_000)
#: An amount a person enters: a unit price override, a discount, a payment or a refund.
MAX_AMOUNT = Decimal(1_000_000_000)
#: An order's priced total (or any line's): well inside ``NUMERIC(20, 6)``.
MAX_ORDER_TOTAL = Decimal(10) ** 13
#: An order's version: ``orders.version`` is an ``INTEGER``.
MAX_VERSION = 2**31 - 1

# -- text -----------------------------------------------------------------------------------------------------
#: Order ids, customer ids, source systems: ``orders.order_id``, ``orders.customer_id`` are 64 characters.
ID_LENGTH = 64
#: ``order_revisions.actor``, ``order_events.actor``.
ACTOR_LENGTH = 100
REASON_LENGTH = 500
NOTE_LENGTH = 2000
SEARCH_LENGTH = 200
LINE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"

_NUL = re.compile("\x00")


def no_nul(value: str) -> str:
    """``value`` unchanged; a NUL character is refused (PostgreSQL cannot store one in text)."""
    if _NUL.search(value):
        raise ValueError(f"text must not contain a NUL character (at position {value.index(chr(0))})")
    return value


@dataclass(frozen=True)
class Text:
    """``Annotated[str, Text(80)]``: at most 80 characters (at least ``min_length``), never a NUL."""

    max_length: int
    min_length: int = 0
    pattern: str | None = None

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(no_nul, core_schema.str_schema(
            min_length=self.min_length, max_length=self.max_length, pattern=self.pattern))


def exact(value: Any) -> Any:
    """Refuse a float: a quantity or an amount is a Decimal, an int or a decimal string."""
    if isinstance(value, float):
        raise ValueError(f"a float ({value!r}) is not an exact quantity or amount; use a decimal string")
    return value


_EXACT = BeforeValidator(exact)
PositiveQuantity = Annotated[Decimal, _EXACT, Field(gt=0, le=MAX_QUANTITY, decimal_places=MAX_SCALE)]
NonNegativeQuantity = Annotated[Decimal, _EXACT, Field(ge=0, le=MAX_QUANTITY, decimal_places=MAX_SCALE)]
Amount = Annotated[Decimal, _EXACT, Field(ge=0, le=MAX_AMOUNT, decimal_places=MAX_SCALE)]
PositiveAmount = Annotated[Decimal, _EXACT, Field(gt=0, le=MAX_AMOUNT, decimal_places=MAX_SCALE)]
Percentage = Annotated[Decimal, _EXACT, Field(ge=0, le=100, decimal_places=MAX_SCALE)]

OrderId = Annotated[str, Text(ID_LENGTH, min_length=1)]
#: ``fulfilment_records.record_id``: holds, payments, returns, replenishment requests.
RecordId = Annotated[str, Text(80, min_length=1)]
LineId = Annotated[str, Text(40, min_length=1, pattern=LINE_ID_PATTERN)]
Sku = Annotated[str, Text(80, min_length=1)]
SourceSystem = Annotated[str, Text(ID_LENGTH, min_length=1)]
ExternalRef = Annotated[str, Text(128, min_length=1)]
#: A configuration option's or an order attribute's value.
OptionValue = (Annotated[str, Text(200)] | Annotated[int, Field(ge=-(10**15), le=10**15)] | bool
               | Annotated[Decimal, _EXACT, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, decimal_places=MAX_SCALE)])


def json_depth(raw: bytes | str, limit: int = MAX_JSON_DEPTH) -> int | None:
    """The offset in ``raw`` where JSON nesting first goes deeper than ``limit``, or None.

    Brackets inside strings do not count. Runs before parsing, so a document
    nested a million levels deep costs one scan, never a recursion.

    >>> json_depth('{"a": [[1]], "b": "[[["}', limit=3), json_depth("[[[[]]]]", limit=3)
    (None, 3)
    """
    data = raw.encode() if isinstance(raw, str) else raw
    depth = 0
    for match in _STRUCTURE.finditer(data):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return match.start()
        elif token in (b"]", b"}"):
            depth -= 1
    return None


_STRUCTURE = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
