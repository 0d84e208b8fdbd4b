"""Read YAML safely while remembering where every value came from.

PyYAML's *composer* (safe: it never constructs Python objects from tags) gives
us nodes with marks; we build plain data from them ourselves so that floats
become ``Decimal`` (money must never pass through a float), duplicate keys are
errors instead of silently overwriting, and every value's path maps to its
line and column. For a string, :func:`origin_of` maps each character back to
the file, so an error inside a multi-line expression points at the right spot.

A ruleset file is untrusted input (it arrives at server start and on reload),
so reading one is bounded before anything is built: at most
:data:`MAX_FILE_BYTES` bytes, valid UTF-8, at most :data:`MAX_NODES` values
nested at most :data:`MAX_NESTING` deep, no aliases (``*name``: a few hundred
bytes of aliases can expand to billions of values), numbers of at most
:data:`MAX_NUMBER_DIGITS` digits. A first pass over the parser's events checks
all of this, so a hostile file costs no more than reading it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from .source import Location, Origin

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NESTING",
    "MAX_NODES",
    "MAX_NUMBER_DIGITS",
    "YamlDocument",
    "YamlProblem",
    "decode_source",
    "load_yaml",
]

Path = tuple[str | int, ...]

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"

MAX_FILE_BYTES = 1_000_000
"""The largest ruleset file read, in bytes (the largest sample file is 8 kB)."""
MAX_NODES = 20_000
"""The most values (scalars, lists, mappings) one file may hold (the largest sample has 853)."""
MAX_NESTING = 100
"""How deep lists and mappings may nest in one file."""
MAX_NUMBER_DIGITS = 40
"""The most digits a number may have, and the largest power of ten it may be written with."""
_MAX_ALIAS_PROBLEMS = 20
_PLAIN_TAGS = frozenset(_TAG + name for name in
                        ("map", "seq", "str", "null", "bool", "int", "float", "timestamp"))


@dataclass(frozen=True)
class YamlProblem:
    location: Location
    message: str
    hint: str | None = None


@dataclass
class YamlDocument:
    """Plain data (dicts, lists, str, int, Decimal, bool, date, None) plus positions."""

    file: str
    text: str
    data: Any
    nodes: dict[Path, yaml.Node] = field(default_factory=dict)
    key_nodes: dict[Path, yaml.Node] = field(default_factory=dict)

    def location(self, path: Path) -> Location:
        """Where the value at ``path`` starts; the nearest enclosing value if absent."""
        for cut in range(len(path), -1, -1):
            node = self.nodes.get(tuple(path[:cut]))
            if node is not None:
                if cut < len(path):  # a missing child: point at the enclosing mapping's key
                    key = self.key_nodes.get(tuple(path[:cut]))
                    node = key or node
                mark = node.start_mark
                return Location(self.file, mark.line + 1, mark.column + 1)
        return Location(self.file, 1, 1)

    def key_location(self, path: Path) -> Location:
        """Where the key of ``path`` is written (for "unknown field" errors)."""
        node = self.key_nodes.get(tuple(path))
        if node is None:
            return self.location(path)
        return Location(self.file, node.start_mark.line + 1, node.start_mark.column + 1)

    def origin_of(self, path: Path) -> Origin:
        """The :class:`Origin` of the string at ``path``, exact per character."""
        node = self.nodes.get(tuple(path))
        if node is None and path and isinstance(self.nodes.get(tuple(path[:-1])), yaml.ScalarNode):
            node = self.nodes[tuple(path[:-1])]  # a short form: `name: "text"` for `name: {field: text}`
        if not isinstance(node, yaml.ScalarNode):
            loc = self.location(path)
            return Origin(self.file, loc.line, loc.column)
        return Origin(
            self.file, node.start_mark.line + 1, node.start_mark.column + 1,
            positions=_align(node.value, self.text, node.start_mark.index, node.end_mark.index,
                             node.start_mark.line, node.start_mark.column),
        )


def _align(
    value: str, text: str, start: int, end: int, line: int, column: int
) -> tuple[tuple[int, int], ...]:
    """Match each character of a scalar's value to its position in the source.

    Folding, indentation and quote escapes only remove or change whitespace and
    quote characters, so a greedy in-order match of the value's characters over
    the raw source span finds each one; whitespace takes the previous position.
    """
    positions: list[tuple[int, int]] = []
    index, cur_line, cur_col = start, line, column
    last = (line + 1, column + 1)
    for char in value:
        if char.isspace():
            positions.append((last[0], last[1] + 1))
            last = positions[-1]
            continue
        while index < end and text[index] != char:
            if text[index] == "\n":
                cur_line, cur_col = cur_line + 1, 0
            else:
                cur_col += 1
            index += 1
        if index >= end:
            positions.append((last[0], last[1] + 1))
            last = positions[-1]
            continue
        last = (cur_line + 1, cur_col + 1)
        positions.append(last)
        index += 1
        cur_col += 1
    return tuple(positions)


class _Builder:
    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.problems: list[YamlProblem] = []

    def problem(self, node: yaml.Node, message: str, hint: str | None = None) -> None:
        mark = node.start_mark
        self.problems.append(YamlProblem(Location(self.document.file, mark.line + 1, mark.column + 1),
                                         message, hint))

    def build(self, node: yaml.Node, path: Path, depth: int = 0) -> Any:
        self.document.nodes[path] = node
        if depth > MAX_NESTING:
            self.problem(node, f"lists and mappings nested deeper than {MAX_NESTING} levels")
            return None
        if node.tag not in _PLAIN_TAGS:
            self.problem(node, f"unsupported YAML tag {node.tag!r}",
                         hint="rulesets contain plain text, numbers, dates, lists and mappings only")
            return None
        if isinstance(node, yaml.MappingNode):
            result: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _TAG + "merge":
                    self.problem(key_node, "YAML merge keys (`<<`) are not supported",
                                 hint="write the fields out; rulesets should read on their own")
                    continue
                key = self.scalar(key_node) if isinstance(key_node, yaml.ScalarNode) else None
                if not isinstance(key, str | int | bool | dt.date) or key is None:
                    self.problem(key_node, "mapping keys must be plain text")
                    continue
                key = str(key) if not isinstance(key, str) else key
                if key in result:
                    first = self.document.key_nodes[(*path, key)].start_mark.line + 1
                    self.problem(key_node, f"duplicate key `{key}` (first defined on line {first})")
                    continue
                self.document.key_nodes[(*path, key)] = key_node
                result[key] = self.build(value_node, (*path, key), depth + 1)
            return result
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node)

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag, value = node.tag, node.value
        if tag == _TAG + "str":
            return value
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return value.lower() in ("true", "yes", "on")
        if tag == _TAG + "int":
            if sum(char.isdigit() for char in value) > MAX_NUMBER_DIGITS:
                self.problem(node, f"number longer than {MAX_NUMBER_DIGITS} digits: {_clip(value)}")
                return None
            try:
                return _construct(node, "int")
            except ValueError:
                self.problem(node, f"not an integer: {_clip(value)}")
                return None
        if tag == _TAG + "float":
            try:
                number = Decimal(value.replace("_", ""))
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():
                self.problem(node, f"not a finite decimal number: {_clip(value)}")
                return None
            if len(number.as_tuple().digits) > MAX_NUMBER_DIGITS or abs(number.adjusted()) > MAX_NUMBER_DIGITS:
                self.problem(node, f"number out of range: {_clip(value)}",
                             hint=f"numbers have at most {MAX_NUMBER_DIGITS} digits and "
                                  f"lie between 1e-{MAX_NUMBER_DIGITS} and 1e{MAX_NUMBER_DIGITS}")
                return None
            return number
        if tag == _TAG + "timestamp":
            try:
                stamp = _construct(node, "timestamp")
            except ValueError as exc:
                self.problem(node, f"not a valid date: {_clip(value)} ({exc})",
                             hint="write dates as YYYY-MM-DD")
                return None
            if isinstance(stamp, dt.datetime) and stamp.tzinfo is None:
                self.problem(node, f"date-time without a time zone: {value!r}",
                             hint="add an offset such as +00:00, or give a date only")
                return None
            return stamp
        self.problem(node, f"unsupported YAML tag {tag!r}",
                     hint="rulesets contain plain text, numbers, dates, lists and mappings only")
        return None


_CONSTRUCTOR = yaml.constructor.SafeConstructor()


def _construct(node: yaml.ScalarNode, kind: str) -> Any:
    method = getattr(_CONSTRUCTOR, f"construct_yaml_{kind}")
    return method(node)


def _clip(value: str, width: int = 60) -> str:
    return repr(value if len(value) <= width else value[:width] + "…")


def _line_and_column(data: bytes | str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` (columns count characters; bytes for undecodable input)."""
    newline = b"\n" if isinstance(data, bytes) else "\n"
    line = data.count(newline, 0, offset) + 1  # type: ignore[arg-type]
    start = data.rfind(newline, 0, offset) + 1  # type: ignore[arg-type]
    if isinstance(data, bytes):
        return line, len(data[start:offset].decode("utf-8", "replace")) + 1
    return line, offset - start + 1


def decode_source(data: bytes, file: str) -> tuple[str | None, list[YamlProblem]]:
    """The text of a ruleset file read as bytes: UTF-8, at most :data:`MAX_FILE_BYTES`.

    A byte sequence that is not UTF-8 is reported at its line and column,
    with its byte offset:

    >>> decode_source(b"kind: formulas\\nname: caf\\xe9\\n", "f.yaml")[1][0].message
    'not UTF-8: byte 0xe9 at byte offset 24 cannot be decoded'
    """
    if len(data) > MAX_FILE_BYTES:
        return None, [_too_large(file)]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as exc:
        line, column = _line_and_column(data, exc.start)
        return None, [YamlProblem(
            Location(file, line, column),
            f"not UTF-8: byte 0x{data[exc.start]:02x} at byte offset {exc.start} cannot be decoded",
            hint="save the file as UTF-8")]


def _too_large(file: str) -> YamlProblem:
    return YamlProblem(Location(file, 1, 1), f"file larger than {MAX_FILE_BYTES:,} bytes",
                       hint="split it into several ruleset files")


def _bounds_problems(text: str, file: str) -> list[YamlProblem]:
    """Aliases, too many values, too deep nesting: found in one pass over the parser's events.

    Nothing is composed here, so an alias bomb or a huge document costs one
    read; the pass stops at the first budget exceeded.
    """
    problems: list[YamlProblem] = []
    nodes = depth = aliases = 0
    more_from = Location(file, 1, 1)
    for event in yaml.parse(text, Loader=_SAFE_LOADER):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            mark = event.start_mark
            if aliases <= _MAX_ALIAS_PROBLEMS:
                problems.append(YamlProblem(
                    Location(file, mark.line + 1, mark.column + 1),
                    f"YAML aliases (`*{event.anchor}`) are not supported",
                    hint=None if aliases > 1 else "write the value out; rulesets should read on their own"))
            elif aliases == _MAX_ALIAS_PROBLEMS + 1:
                more_from = Location(file, mark.line + 1, mark.column + 1)
            continue
        if isinstance(event, yaml.ScalarEvent | yaml.SequenceStartEvent | yaml.MappingStartEvent):
            nodes += 1
            if nodes > MAX_NODES:
                mark = event.start_mark
                problems.append(YamlProblem(
                    Location(file, mark.line + 1, mark.column + 1),
                    f"more than {MAX_NODES:,} values in one file",
                    hint="split it into several ruleset files"))
                break
        if isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            depth += 1
            if depth > MAX_NESTING:
                mark = event.start_mark
                problems.append(YamlProblem(
                    Location(file, mark.line + 1, mark.column + 1),
                    f"lists and mappings nested deeper than {MAX_NESTING} levels"))
                break
        elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
            depth -= 1
    if aliases > _MAX_ALIAS_PROBLEMS:
        problems.append(YamlProblem(more_from, f"and {aliases - _MAX_ALIAS_PROBLEMS} more YAML alias(es) "
                                               "from here on, not listed one by one"))
    return problems


def _yaml_error(exc: yaml.YAMLError, text: str, file: str) -> YamlProblem:
    """A located problem for a YAML reader, scanner, parser or composer error."""
    if isinstance(exc, yaml.reader.ReaderError):
        line, column = _line_and_column(text, exc.position)
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        return YamlProblem(Location(file, line, column),
                           f"invalid YAML: character U+{code:04X} is not allowed in a YAML file",
                           hint="remove control characters; use a tab or newline only as whitespace")
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and (mark is None or mark.index >= len(text.rstrip())):
            # Noticed only at the end of the file (an unclosed bracket or quote):
            # the place where the unfinished construct started is the useful one.
            mark = exc.context_mark
        location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return YamlProblem(location, f"invalid YAML: {message}")
    return YamlProblem(Location(file, 1, 1), f"invalid YAML: {exc}")


def load_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[YamlProblem]]:
    """Parse one YAML document; returns the document or the problems found (each located).

    >>> load_yaml("a: &x [1]\\nb: *x\\n", "f.yaml")[1][0].message
    'YAML aliases (`*x`) are not supported'
    """
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        return None, [_too_large(file)]
    try:
        problems = _bounds_problems(text, file)
        if problems:
            return None, problems
        root = yaml.compose(text, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        return None, [_yaml_error(exc, text, file)]
    if root is None:
        return None, [YamlProblem(Location(file, 1, 1), "the file is empty")]
    document = YamlDocument(file, text, None)
    builder = _Builder(document)
    document.data = builder.build(root, ())
    if builder.problems:
        return None, builder.problems
    return document, []
