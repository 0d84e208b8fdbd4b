"""Importing batches of orders from other systems (JSON, or CSV for simple orders).

Each order is keyed by ``source_system`` + ``external_ref``: importing the same
batch twice creates nothing new. Every problem is reported with the field path
inside the batch (``orders[3].lines[2].quantity``). The error policy decides
what a problem costs:

- ``reject_batch``: any problem rejects the whole batch; nothing is created;
- ``reject_failed_orders``: the orders with problems are rejected, the others land;
- ``keep_valid_lines``: invalid lines are dropped (and reported); an order lands
  with its valid lines, or is rejected if none is left or the order itself is invalid.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

import pydantic

from .commands import ImportOrder
from .errors import FieldProblem, OrderError, OrderValidationError
from .handlers import problems_from_pydantic
from .limits import MAX_JSON_DEPTH, MAX_ORDERS_PER_IMPORT, json_depth
from .messagebus import MessageBus
from .model import LineInput, OrderInput
from .queries import check_order

__all__ = ["ErrorPolicy", "ImportFormatError", "ImportReport", "import_orders", "parse_csv_batch", "parse_json_batch"]


class ErrorPolicy(StrEnum):
    REJECT_BATCH = "reject_batch"
    REJECT_FAILED_ORDERS = "reject_failed_orders"
    KEEP_VALID_LINES = "keep_valid_lines"


@dataclass
class ImportReport:
    """What an import did, order by order."""

    created: list[str] = field(default_factory=list)
    already_imported: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)        # "source/ref" of each rejected order
    problems: list[FieldProblem] = field(default_factory=list)
    batch_rejected: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems and not self.batch_rejected

    def summary(self) -> str:
        text = (f"{len(self.created)} created, {len(self.already_imported)} already imported, "
                f"{len(self.rejected)} rejected")
        return text + (" (batch rejected)" if self.batch_rejected else "")


class ImportFormatError(OrderError, ValueError):
    """The batch itself cannot be read."""


def parse_json_batch(text: str) -> list[dict[str, Any]]:
    """``{"orders": [...]}`` or a bare list; numbers become Decimals, never floats.

    A batch nested deeper than :data:`~order_management.limits.MAX_JSON_DEPTH`
    or holding more than :data:`~order_management.limits.MAX_ORDERS_PER_IMPORT`
    orders is refused before any order is looked at.
    """
    too_deep = json_depth(text)
    if too_deep is not None:
        raise ImportFormatError(f"character {too_deep}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise ImportFormatError(f"line {exc.lineno}, column {exc.colno}: invalid JSON: {exc.msg}") from None
    except ValueError as exc:  # an integer of more than 4,300 digits
        raise ImportFormatError(f"invalid JSON: {exc}") from None
    if isinstance(data, Mapping):
        data = data.get("orders")
    if not isinstance(data, list) or not all(isinstance(o, Mapping) for o in data):
        raise ImportFormatError("a batch is a list of orders, or an object with an `orders` list")
    _check_size(len(data))
    return [dict(o) for o in data]


def _check_size(orders: int) -> None:
    if orders > MAX_ORDERS_PER_IMPORT:
        raise ImportFormatError(f"a batch holds at most {MAX_ORDERS_PER_IMPORT:,} orders, not {orders:,}; "
                                "split it")


_CSV_ORDER = ("source_system", "external_ref", "customer_id", "currency", "channel", "requested_date",
              "payment_terms", "notes")
_CSV_LINE = ("line_id", "sku", "quantity", "unit", "requested_date")


def parse_csv_batch(text: str) -> list[dict[str, Any]]:
    """One row per order line; rows with the same source system and reference form one order.

    Columns: ``source_system, external_ref, customer_id, currency, line_id, sku,
    quantity`` and optionally ``channel, requested_date, payment_terms, notes,
    unit, ship_to_name, ship_to_country, ship_to_region, ship_to_city,
    ship_to_postal_code``. A ``line_requested_date`` column sets a line's date.
    """
    try:
        return _read_csv(text)
    except csv.Error as exc:  # a field over csv's size limit, a NUL byte
        raise ImportFormatError(f"CSV: {exc}") from None


def _read_csv(text: str) -> list[dict[str, Any]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = {"source_system", "external_ref", "customer_id", "currency", "sku", "quantity"} - set(
        reader.fieldnames or ())
    if missing:
        raise ImportFormatError(f"CSV header lacks column(s): {', '.join(sorted(missing))}")
    orders: dict[tuple[str, str], dict[str, Any]] = {}
    for row in reader:
        key = (row["source_system"], row["external_ref"])
        order = orders.get(key)
        if order is None:
            order = {k: row[k] for k in _CSV_ORDER if row.get(k)}
            if row.get("ship_to_country"):
                order["ship_to"] = {"name": row.get("ship_to_name") or row["customer_id"], "address": {
                    k: row[f"ship_to_{k}"] for k in ("country", "region", "city", "postal_code")
                    if row.get(f"ship_to_{k}")}}
            order["lines"] = []
            orders[key] = order
        line = {"line_id": row.get("line_id") or str(len(order["lines"]) + 1), "sku": row["sku"],
                "quantity": row["quantity"]}
        if row.get("unit"):
            line["unit"] = row["unit"]
        if row.get("line_requested_date"):
            line["requested_date"] = row["line_requested_date"]
        order["lines"].append(line)
        _check_size(len(orders))
    return list(orders.values())


def _key(record: Mapping[str, Any], index: int) -> str:
    return f"{record.get('source_system', '?')}/{record.get('external_ref', f'#{index}')}"


def _prefix(problems: Sequence[FieldProblem], prefix: str) -> list[FieldProblem]:
    return [FieldProblem(f"{prefix}.{p.path}" if p.path != "order" else prefix, p.message, p.rule, p.severity)
            for p in problems]


def _keep_valid_lines(record: dict[str, Any], prefix: str, report: ImportReport) -> dict[str, Any]:
    lines = record.get("lines")
    if not isinstance(lines, list):
        return record
    kept = []
    for index, line in enumerate(lines):
        try:
            LineInput.model_validate(line)
        except pydantic.ValidationError as exc:
            report.problems.extend(_prefix(problems_from_pydantic(exc), f"{prefix}.lines[{index}]"))
            continue
        kept.append(line)
    return {**record, "lines": kept}


def import_orders(bus: MessageBus, records: Sequence[Mapping[str, Any]], policy: ErrorPolicy,
                  actor: str) -> ImportReport:
    """Import ``records`` (from :func:`parse_json_batch` or :func:`parse_csv_batch`) through the bus."""
    report = ImportReport()
    prepared: list[tuple[int, OrderInput]] = []
    for index, raw in enumerate(records):
        prefix = f"orders[{index}]"
        record = dict(raw)
        if not record.get("source_system") or not record.get("external_ref"):
            report.problems.append(FieldProblem(prefix, "an imported order needs source_system and external_ref"))
            report.rejected.append(_key(record, index))
            continue
        if policy == ErrorPolicy.KEEP_VALID_LINES:
            record = _keep_valid_lines(record, prefix, report)
        try:
            draft = OrderInput.model_validate(record)
        except pydantic.ValidationError as exc:
            problems = problems_from_pydantic(exc)
        else:
            problems = check_order(draft, bus.deps, bus.unit_of_work())
        if problems:
            report.problems.extend(_prefix(problems, prefix))
            report.rejected.append(_key(record, index))
            continue
        prepared.append((index, draft))
    if policy == ErrorPolicy.REJECT_BATCH and report.problems:
        report.batch_rejected = True
        report.rejected = [_key(r, i) for i, r in enumerate(records)]
        return report
    for index, draft in prepared:
        try:
            result = bus.handle(ImportOrder(actor=actor, order=draft,
                                            reason=f"imported from {draft.source_system}"))
        except OrderValidationError as exc:
            report.problems.extend(_prefix(exc.problems, f"orders[{index}]"))
            report.rejected.append(_key(dict(records[index]), index))
            continue
        (report.created if result.created else report.already_imported).append(result.order.order_id)
    return report
