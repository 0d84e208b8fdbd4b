"""Type-tagged JSON: Python values the database keeps as JSON and gives back exactly.

Order revisions and fulfilment records hold Decimals, dates, enums, pydantic
models, frozen dataclasses, tuples and dicts with non-text keys. A
:class:`TaggedCodec` writes each as ``{"$": tag, ...}`` (Decimals as strings,
never floats) and reads it back to the same type. Type names come from the
codec's fixed registry — never Python import paths — so stored data can only
ever become one of the classes the codec was given.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from enum import Enum
from typing import Any

from pydantic import BaseModel

__all__ = ["TaggedCodec"]


class TaggedCodec:
    """Encode and decode values of the registered classes (and plain JSON-able ones).

    >>> from order_management import OrderStatus
    >>> codec = TaggedCodec("an example", enums=[OrderStatus])
    >>> codec.encode(Decimal("1.50"))
    {'$': 'dec', 'v': '1.50'}
    >>> codec.decode(codec.encode((Decimal("2"), OrderStatus.BOOKED)))
    (Decimal('2'), <OrderStatus.BOOKED: 'booked'>)
    """

    def __init__(self, what: str, *, models: Iterable[type[BaseModel]] = (), dataclasses: Iterable[type] = (),
                 enums: Iterable[type[Enum]] = ()) -> None:
        self.what = what
        self.models = {cls.__name__: cls for cls in models}
        self.dataclasses = {cls.__name__: cls for cls in dataclasses}
        self.enums = {cls.__name__: cls for cls in enums}

    def _registered(self, registry: dict[str, type], value: Any) -> str:
        name = type(value).__name__
        if registry.get(name) is not type(value):
            raise TypeError(f"cannot store a {name} in {self.what}")
        return name

    def encode(self, value: Any) -> Any:
        """A JSON-safe, type-tagged form of ``value`` (see :meth:`decode`)."""
        if isinstance(value, Enum):  # before str: a StrEnum is a str
            return {"$": "enum", "t": self._registered(self.enums, value), "v": value.value}
        if value is None or isinstance(value, bool | int | str):
            return value
        if isinstance(value, Decimal):
            return {"$": "dec", "v": format(value, "f") if value == value.to_integral() else str(value)}
        if isinstance(value, dt.datetime):
            return {"$": "datetime", "v": value.isoformat()}
        if isinstance(value, dt.date):
            return {"$": "date", "v": value.isoformat()}
        if isinstance(value, BaseModel):
            return {"$": "model", "t": self._registered(self.models, value), "v": value.model_dump(mode="json")}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            name = self._registered(self.dataclasses, value)
            return {"$": "dc", "t": name, "v": {f.name: self.encode(getattr(value, f.name))
                                                 for f in dataclasses.fields(value) if f.init}}
        if isinstance(value, tuple):
            return {"$": "tuple", "v": [self.encode(v) for v in value]}
        if isinstance(value, list):
            return [self.encode(v) for v in value]
        if isinstance(value, dict):
            return {"$": "dict", "v": [[self.encode(k), self.encode(v)] for k, v in value.items()]}
        raise TypeError(f"cannot store a {type(value).__name__} in {self.what}")

    def decode(self, data: Any) -> Any:
        """The value :meth:`encode` was given."""
        if isinstance(data, list):
            return [self.decode(v) for v in data]
        if not isinstance(data, dict):
            return data
        tag = data["$"]
        if tag == "enum":
            return self.enums[data["t"]](data["v"])
        if tag == "dec":
            return Decimal(data["v"])
        if tag == "datetime":
            return dt.datetime.fromisoformat(data["v"])
        if tag == "date":
            return dt.date.fromisoformat(data["v"])
        if tag == "model":
            return self.models[data["t"]].model_validate(data["v"])
        if tag == "dc":
            return self.dataclasses[data["t"]](**{k: self.decode(v) for k, v in data["v"].items()})
        if tag == "tuple":
            return tuple(self.decode(v) for v in data["v"])
        if tag == "dict":
            return {self.decode(k): self.decode(v) for k, v in data["v"]}
        raise ValueError(f"unknown stored value tag {tag!r}")
