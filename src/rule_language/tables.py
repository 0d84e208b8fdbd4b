"""Decision tables: rows of input tests and outputs, with an explicit hit policy.

A table reads like DMN: each input column is an expression over the schema;
each row has one *unary test* per input (``-``, ``'gold'``, ``gold, silver``,
``>= 1000``, ``[10..20)``, ``not(export)``) and one value per output. Because
the tests are restricted to forms with an exact set meaning (see
:mod:`rule_language.cellsets`), the loader proves at load time which rows
overlap (an error under UNIQUE, and under ANY when outputs differ), which rows
can never fire under FIRST, and where no row matches (a warning, unless the
table has a default).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .cellsets import CellSet, FiniteSet, Interval, IntervalSet
from .errors import EvaluationError, RuleLanguageError
from .expression import CompiledExpression
from .parser import parse
from .schema import Schema, suggest
from .syntax import Literal, Unary
from .types import (
    BoolType,
    DateType,
    EnumType,
    IntegerType,
    MoneyType,
    Type,
    type_from_spec,
)

if TYPE_CHECKING:
    from .rulesets import CompileContext

__all__ = [
    "Aggregation",
    "CompiledDecisionTable",
    "DecisionResult",
    "DecisionTableSpec",
    "HitPolicy",
    "compile_decision_table",
]

MAX_ANALYSIS_BOXES = 20_000


class HitPolicy(enum.StrEnum):
    UNIQUE = "UNIQUE"
    FIRST = "FIRST"
    PRIORITY = "PRIORITY"
    ANY = "ANY"
    COLLECT = "COLLECT"
    RULE_ORDER = "RULE_ORDER"


class Aggregation(enum.StrEnum):
    SUM = "SUM"
    MIN = "MIN"
    MAX = "MAX"
    COUNT = "COUNT"


class InputColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    expression: str
    label: str | None = None


class OutputColumn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    type: Any = "string"
    priority: list[Any] | None = Field(
        default=None, description="PRIORITY: output values, most important first"
    )


class DecisionTableSpec(BaseModel):
    """The table as written in a ruleset file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hit_policy: HitPolicy
    aggregation: Aggregation | None = None
    inputs: list[InputColumn] = Field(min_length=1)
    outputs: list[OutputColumn] = Field(min_length=1)
    rules: list[list[Any]] = Field(min_length=1)
    default: dict[str, Any] | None = None

    @field_validator("hit_policy", mode="before")
    @classmethod
    def _normalise_policy(cls, value: Any) -> Any:
        return value.strip().upper().replace(" ", "_") if isinstance(value, str) else value

    @field_validator("inputs", mode="before")
    @classmethod
    def _short_inputs(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"expression": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _aggregation_only_for_collect(self) -> DecisionTableSpec:
        if self.aggregation is not None and self.hit_policy != HitPolicy.COLLECT:
            raise ValueError("aggregation applies to the COLLECT hit policy only")
        return self


@dataclass(frozen=True)
class DecisionResult:
    """The table's answer and, with ``trace=True``, why."""

    value: Any
    fired_rows: tuple[int, ...]
    inputs: Mapping[str, Any]


@dataclass(frozen=True)
class _Row:
    number: int
    tests: tuple[CellSet, ...]
    outputs: tuple[Any, ...]  # constants or CompiledExpression
    output_text: tuple[str, ...]


@dataclass(frozen=True)
class _Column:
    expression: CompiledExpression
    label: str
    key: Any  # converts a value before set tests (dates to ordinals)
    universe: CellSet


class CompiledDecisionTable:
    """A checked table, ready to evaluate."""

    def __init__(self, spec: DecisionTableSpec, columns: list[_Column], rows: list[_Row],
                 output_names: list[str], priority: dict[Any, int] | None, default: Any) -> None:
        self.spec = spec
        self.hit_policy = spec.hit_policy
        self.columns = columns
        self.rows = rows
        self.output_names = output_names
        self.priority = priority
        self.default = default

    def evaluate(self, env: Mapping[str, Any], trace: bool = False) -> DecisionResult:
        """Apply the hit policy to ``env``; raises :class:`EvaluationError` on bad input."""
        values = [column.expression.evaluate(env) for column in self.columns]
        keys = [column.key(v) for column, v in zip(self.columns, values, strict=True)]
        for column, key in zip(self.columns, keys, strict=True):
            if isinstance(column.universe, FiniteSet) and not column.universe.contains(key):
                raise EvaluationError(f"{column.label} = {key!r} is not one of the declared values "
                                      f"{column.universe.describe()}")
        fired = [row for row in self.rows
                 if all(test.contains(k) for test, k in zip(row.tests, keys, strict=True))]
        value = self._decide(fired, env)
        inputs = {c.label: v for c, v in zip(self.columns, values, strict=True)} if trace else {}
        chosen = fired if self.hit_policy in (HitPolicy.COLLECT, HitPolicy.RULE_ORDER) else fired[:1]
        if self.hit_policy == HitPolicy.PRIORITY and fired:
            chosen = [min(fired, key=self._rank)]
        return DecisionResult(value, tuple(r.number for r in chosen), inputs)

    def _rank(self, row: _Row) -> int:
        assert self.priority is not None
        return self.priority[row.outputs[0]]

    def _output(self, row: _Row, env: Mapping[str, Any]) -> Any:
        produced = [o.evaluate(env) if isinstance(o, CompiledExpression) else o for o in row.outputs]
        if len(produced) == 1:
            return produced[0]
        return dict(zip(self.output_names, produced, strict=True))

    def _decide(self, fired: list[_Row], env: Mapping[str, Any]) -> Any:
        policy = self.hit_policy
        if policy in (HitPolicy.COLLECT, HitPolicy.RULE_ORDER):
            results = [self._output(row, env) for row in fired]
            aggregation = self.spec.aggregation
            if aggregation is None:
                return results
            if aggregation == Aggregation.COUNT:
                return len(results)
            if not results:
                return Decimal(0) if aggregation == Aggregation.SUM else None
            if aggregation == Aggregation.SUM:
                return sum(results, Decimal(0))
            return min(results) if aggregation == Aggregation.MIN else max(results)
        if not fired:
            return self.default
        if policy == HitPolicy.UNIQUE and len(fired) > 1:
            raise EvaluationError(f"rows {', '.join(str(r.number) for r in fired)} all match "
                                  "under the UNIQUE hit policy")
        if policy == HitPolicy.PRIORITY:
            return self._output(min(fired, key=self._rank), env)
        if policy == HitPolicy.ANY:
            outputs = {repr(self._output(row, env)) for row in fired}
            if len(outputs) > 1:
                raise EvaluationError("rows with different outputs match under the ANY hit policy")
        return self._output(fired[0], env)


# -- cells ----------------------------------------------------------------------
_RANGE = re.compile(r"^([\[(\]])\s*(.+?)\s*\.\.\s*(.+?)\s*([\])\[])$")
_COMPARISON = re.compile(r"^(<=|>=|!=|<|>|=)\s*(.+)$")


class _CellError(ValueError):
    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


def _split(text: str) -> list[str]:
    """Split on commas that are not inside quotes, brackets or parentheses."""
    parts, depth, quote, current = [], 0, "", []
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == "," and depth <= 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    parts.append("".join(current).strip())
    return [p for p in parts if p]


def _universe(column_type: Type) -> CellSet:
    if isinstance(column_type, EnumType):
        return FiniteSet(frozenset(column_type.values))
    if isinstance(column_type, BoolType):
        return FiniteSet(frozenset({True, False}))
    if column_type.is_numeric or isinstance(column_type, DateType):
        return IntervalSet.everything(integer=isinstance(column_type, IntegerType | DateType))
    return FiniteSet.everything()


def _key_function(column_type: Type) -> Any:
    if isinstance(column_type, DateType):
        return lambda value: Decimal(value.toordinal())
    return lambda value: value


def _value(text: str, column_type: Type) -> Any:
    """One literal of a cell, read for the column's type."""
    if column_type.is_textual:
        if text[:1] in "'\"":
            node = _literal_node(text)
            if not isinstance(node, str):
                raise _CellError(f"expected text, got {text}")
            value = node
        else:
            value = text
        if isinstance(column_type, EnumType) and value not in column_type.values:
            raise _CellError(f"{value!r} is not one of the values {column_type}",
                             hint=suggest(value, column_type.values))
        return value
    if isinstance(column_type, BoolType):
        if text in ("true", "false"):
            return text == "true"
        raise _CellError(f"expected true or false, got {text!r}")
    if isinstance(column_type, DateType):
        try:
            day = dt.date.fromisoformat(text.strip("'\""))
        except ValueError:
            node = _literal_node(text)
            if not isinstance(node, dt.date):
                raise _CellError(f"expected a date, got {text!r}", hint="write 2026-01-31") from None
            day = node
        return Decimal(day.toordinal())
    node = _literal_node(text)
    if isinstance(node, bool) or not isinstance(node, int | Decimal):
        raise _CellError(f"expected a number, got {text!r}")
    return Decimal(node)


def _literal_node(text: str) -> Any:
    try:
        node = parse(text)
    except RuleLanguageError as exc:
        raise _CellError(exc.message, exc.hint) from None
    if (
        isinstance(node, Unary)
        and node.op == "-"
        and isinstance(node.operand, Literal)
        and isinstance(node.operand.value, int | Decimal)
        and not isinstance(node.operand.value, bool)
    ):
        return -node.operand.value
    if not isinstance(node, Literal):
        raise _CellError(f"a cell holds literal values, not the expression {text!r}",
                         hint="move the computation into the input column's expression")
    return node.value


def parse_cell(raw: Any, column_type: Type) -> CellSet:
    """The set of values a cell accepts, within the column's universe."""
    universe = _universe(column_type)
    if raw is None:
        return universe
    if isinstance(raw, bool | int | Decimal | dt.date):
        raw = ("true" if raw else "false") if isinstance(raw, bool) else str(raw)
    text = str(raw).strip()
    if text in ("", "-"):
        return universe
    negate = False
    match = re.fullmatch(r"not\s*\((.*)\)", text)
    if match:
        negate, text = True, match.group(1).strip()
    tests = [_test(part, column_type) for part in _split(text)]
    if not tests:
        raise _CellError("empty test")
    accepted = tests[0]
    for test in tests[1:]:
        accepted = _union(accepted, test)
    result = universe.subtract(accepted) if negate else universe.intersect(accepted)
    return result


def _union(a: CellSet, b: CellSet) -> CellSet:
    if isinstance(a, IntervalSet) and isinstance(b, IntervalSet):
        return IntervalSet.of(a.intervals + b.intervals, a.integer)
    assert isinstance(a, FiniteSet) and isinstance(b, FiniteSet)
    if not a.complement and not b.complement:
        return FiniteSet(a.values | b.values)
    everything = FiniteSet.everything()
    return everything.subtract(everything.subtract(a).intersect(everything.subtract(b)))


def _test(text: str, column_type: Type) -> CellSet:
    ordered = column_type.is_numeric or isinstance(column_type, DateType)
    integer = isinstance(column_type, IntegerType | DateType)
    range_match = _RANGE.match(text)
    if range_match and ordered:
        opener, low, high, closer = range_match.groups()
        interval = Interval(_value(low, column_type), _value(high, column_type),
                            opener == "[", closer == "]")
        return IntervalSet.of([interval], integer)
    comparison = _COMPARISON.match(text)
    if comparison:
        op, operand = comparison.groups()
        if not ordered and op not in ("=", "!="):
            raise _CellError(f"`{op}` needs a number or date column; this column is {column_type}")
        value = _value(operand.strip(), column_type)
        if not ordered:
            single = FiniteSet(frozenset({value}))
            return single if op == "=" else FiniteSet(single.values, complement=True)
        bounds = {
            "<": Interval(None, value, True, False),
            "<=": Interval(None, value, True, True),
            ">": Interval(value, None, False, True),
            ">=": Interval(value, None, True, True),
            "=": Interval(value, value),
        }
        if op == "!=":
            return IntervalSet.of([Interval(None, value, True, False), Interval(value, None, False, True)],
                                  integer)
        return IntervalSet.of([bounds[op]], integer)
    value = _value(text, column_type)
    if ordered:
        return IntervalSet.of([Interval(value, value)], integer)
    return FiniteSet(frozenset({value}))


# -- compilation and analysis -----------------------------------------------------
def compile_decision_table(spec: DecisionTableSpec, schema: Schema, ctx: CompileContext,
                           path: tuple[str | int, ...]) -> CompiledDecisionTable | None:
    """Compile ``spec`` (found at ``path`` of the file), reporting located problems to ``ctx``."""
    columns: list[_Column] = []
    for index, column in enumerate(spec.inputs):
        compiled = ctx.expression(column.expression, (*path, "inputs", index, "expression"), schema)
        if compiled is None:
            continue
        columns.append(_Column(compiled, column.label or column.expression, _key_function(compiled.type),
                               _universe(compiled.type)))
    output_types = []
    for index, output in enumerate(spec.outputs):
        try:
            output_types.append(type_from_spec(output.type))
        except RuleLanguageError as exc:
            ctx.report(exc, (*path, "outputs", index, "type"))
            return None
    if len(columns) != len(spec.inputs):
        return None

    width = len(spec.inputs) + len(spec.outputs)
    rows: list[_Row] = []
    for number, cells in enumerate(spec.rules, start=1):
        row_path = (*path, "rules", number - 1)
        if len(cells) != width:
            ctx.error(row_path, f"row {number} has {len(cells)} cells; expected {width} "
                      f"({len(spec.inputs)} inputs + {len(spec.outputs)} outputs)")
            continue
        row = _compile_row(number, cells, columns, output_types, schema, ctx, row_path)
        if row is not None:
            rows.append(row)
    if ctx.has_errors:
        return None

    priority = None
    if spec.hit_policy == HitPolicy.PRIORITY:
        priority = _priority(spec, rows, ctx, path)
        if priority is None:
            return None
    default = None
    if spec.default is not None:
        unknown = set(spec.default) - {o.name for o in spec.outputs}
        if unknown:
            ctx.error((*path, "default"), f"default names unknown outputs: {', '.join(sorted(unknown))}")
            return None
        values = [spec.default.get(o.name) for o in spec.outputs]
        default = values[0] if len(values) == 1 else dict(zip([o.name for o in spec.outputs], values,
                                                               strict=True))
    _analyse(spec, columns, rows, ctx, path)
    return CompiledDecisionTable(spec, columns, rows, [o.name for o in spec.outputs], priority, default)


def _compile_row(number: int, cells: Sequence[Any], columns: list[_Column], output_types: list[Type],
                 schema: Schema, ctx: CompileContext, row_path: tuple[str | int, ...]) -> _Row | None:
    tests: list[CellSet] = []
    ok = True
    for index, column in enumerate(columns):
        try:
            tests.append(parse_cell(cells[index], column.expression.type))
        except _CellError as exc:
            ctx.error((*row_path, index), f"row {number}, input `{column.label}`: {exc}", hint=exc.hint)
            ok = False
    outputs: list[Any] = []
    texts: list[str] = []
    for offset, output_type in enumerate(output_types):
        index = len(columns) + offset
        raw = cells[index]
        texts.append(str(raw))
        value = _output_value(raw, output_type, schema, ctx, (*row_path, index), number)
        if value is _INVALID:
            ok = False
        outputs.append(value)
    return _Row(number, tuple(tests), tuple(outputs), tuple(texts)) if ok else None


_INVALID = object()


def _output_value(raw: Any, output_type: Type, schema: Schema, ctx: CompileContext,
                  path: tuple[str | int, ...], number: int) -> Any:
    """Text columns take plain text (``=expr`` for an expression); others a literal or expression."""
    if raw is None:
        return None
    if output_type.is_textual:
        if isinstance(raw, str) and raw.startswith("="):
            compiled = ctx.expression(raw[1:], path, schema, expect=output_type)
            return _INVALID if compiled is None else compiled
        text = str(raw)
        if isinstance(output_type, EnumType) and text not in output_type.values:
            ctx.error(path, f"row {number}: {text!r} is not one of the values {output_type}",
                      hint=suggest(text, output_type.values))
            return _INVALID
        return text
    if isinstance(raw, bool) and isinstance(output_type, BoolType):
        return raw
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool) and (
        output_type.is_numeric and not (isinstance(output_type, IntegerType) and isinstance(raw, Decimal))
    ):
        return raw if not isinstance(output_type, MoneyType) else Decimal(raw)
    if isinstance(raw, dt.date) and isinstance(output_type, DateType):
        return raw
    compiled = ctx.expression(str(raw), path, schema, expect=output_type)
    if compiled is None:
        return _INVALID
    if isinstance(compiled.ast, Literal):
        return compiled.ast.value
    return compiled


def _priority(spec: DecisionTableSpec, rows: list[_Row], ctx: CompileContext,
              path: tuple[str | int, ...]) -> dict[Any, int] | None:
    order = spec.outputs[0].priority
    if not order:
        ctx.error((*path, "outputs", 0), "the PRIORITY hit policy needs `priority`: the first "
                  "output's values, most important first")
        return None
    ranks = {value: index for index, value in enumerate(order)}
    for row in rows:
        if row.outputs[0] not in ranks:
            ctx.error((*path, "rules", row.number - 1),
                      f"row {row.number}: output {row.outputs[0]!r} is not in the priority list")
    return None if ctx.has_errors else ranks


def _box_empty(box: tuple[CellSet, ...]) -> bool:
    return any(cell.is_empty() for cell in box)


def _intersect(a: tuple[CellSet, ...], b: tuple[CellSet, ...]) -> tuple[CellSet, ...]:
    return tuple(x.intersect(y) for x, y in zip(a, b, strict=True))


def _subtract(box: tuple[CellSet, ...], cut: tuple[CellSet, ...]) -> list[tuple[CellSet, ...]]:
    """``box`` minus ``cut`` as disjoint boxes."""
    if _box_empty(_intersect(box, cut)):
        return [box]
    pieces = []
    prefix: list[CellSet] = []
    for index, (mine, theirs) in enumerate(zip(box, cut, strict=True)):
        rest = mine.subtract(theirs)
        if not rest.is_empty():
            pieces.append((*prefix, rest, *box[index + 1 :]))
        prefix.append(mine.intersect(theirs))
    return pieces


def _describe(box: tuple[CellSet, ...], columns: list[_Column]) -> str:
    return ", ".join(f"{c.label} {cell.describe()}" for c, cell in zip(columns, box, strict=True)
                     if cell.describe() != "-")


def _analyse(spec: DecisionTableSpec, columns: list[_Column], rows: list[_Row], ctx: CompileContext,
             path: tuple[str | int, ...]) -> None:
    policy = spec.hit_policy
    if policy in (HitPolicy.UNIQUE, HitPolicy.ANY):
        for j, later in enumerate(rows):
            for earlier in rows[:j]:
                overlap = _intersect(earlier.tests, later.tests)
                if _box_empty(overlap):
                    continue
                if policy == HitPolicy.ANY and earlier.output_text == later.output_text:
                    continue
                reason = "under the UNIQUE hit policy" if policy == HitPolicy.UNIQUE else \
                    "with different outputs under the ANY hit policy"
                ctx.error((*path, "rules", later.number - 1),
                          f"rows {earlier.number} and {later.number} overlap {reason}: both match "
                          f"{_describe(overlap, columns) or 'every input'}",
                          hint="narrow one of the rows, or use the FIRST or PRIORITY hit policy")
    if policy == HitPolicy.FIRST:
        for j, later in enumerate(rows):
            remaining = [later.tests]
            for earlier in rows[:j]:
                remaining = [p for box in remaining for p in _subtract(box, earlier.tests)]
                if not remaining or len(remaining) > MAX_ANALYSIS_BOXES:
                    break
            if not remaining:
                ctx.error((*path, "rules", later.number - 1),
                          f"row {later.number} can never fire: earlier rows match everything it matches",
                          hint="remove the row or move it above the rows that cover it")
    if policy in (HitPolicy.COLLECT, HitPolicy.RULE_ORDER) or spec.default is not None:
        return
    gaps = [tuple(c.universe for c in columns)]
    for row in rows:
        gaps = [p for box in gaps for p in _subtract(box, row.tests)]
        if len(gaps) > MAX_ANALYSIS_BOXES:
            ctx.warning((*path, "rules"), "the table is too large to check for gaps")
            return
    for gap in gaps[:3]:
        ctx.warning((*path, "rules"), f"no row matches {_describe(gap, columns) or 'any input'}",
                    hint="add a row for it, or give the table a `default`")
    if len(gaps) > 3:
        ctx.warning((*path, "rules"), f"… and {len(gaps) - 3} more gap(s)")
