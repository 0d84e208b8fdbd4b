"""Read YAML safely while remembering where every value came from.

PyYAML's *composer* (safe: it never constructs Python objects from tags) gives
us nodes with marks; we build plain data from them ourselves so that floats
become ``Decimal`` (money must never pass through a float), duplicate keys are
errors instead of silently overwriting, and every value's path maps to its
line and column. For a string, :func:`origin_of` maps each character back to
the file, so an error inside a multi-line expression points at the right spot.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml

from .source import Location, Origin

__all__ = ["YamlDocument", "YamlProblem", "load_yaml"]

Path = tuple[str | int, ...]

_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TAG = "tag:yaml.org,2002:"
_MAX_BYTES = 5_000_000
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
        if depth > 100:
            self.problem(node, "the document is nested too deeply")
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
            return _construct(node, "int")
        if tag == _TAG + "float":
            try:
                number = Decimal(value.replace("_", ""))
            except InvalidOperation:
                number = None
            if number is None or not number.is_finite():
                self.problem(node, f"not a finite decimal number: {value!r}")
                return None
            return number
        if tag == _TAG + "timestamp":
            stamp = _construct(node, "timestamp")
            if isinstance(stamp, dt.datetime) and stamp.tzinfo is None:
                self.problem(node, f"date-time without a time zone: {value!r}",
                             hint="add an offset such as +00:00, or give a date only")
                return None
            return stamp
        self.problem(node, f"unsupported YAML tag {tag!r}",
                     hint="rulesets contain plain text, numbers, dates, lists and mappings only")
        return None


def _construct(node: yaml.ScalarNode, kind: str) -> Any:
    constructor = yaml.SafeLoader("")
    method = getattr(constructor, f"construct_yaml_{kind}")
    return method(node)


def load_yaml(text: str, file: str) -> tuple[YamlDocument | None, list[YamlProblem]]:
    """Parse one YAML document; returns the document or the problems found."""
    if len(text.encode("utf-8", "surrogatepass")) > _MAX_BYTES:
        return None, [YamlProblem(Location(file, 1, 1), "file larger than 5 MB")]
    try:
        root = yaml.compose(text, Loader=_SAFE_LOADER)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and (mark is None or mark.index >= len(text.rstrip())):
            # Noticed only at the end of the file (an unclosed bracket or quote):
            # the place where the unfinished construct started is the useful one.
            mark = exc.context_mark
        location = Location(file, mark.line + 1, mark.column + 1) if mark else Location(file, 1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        return None, [YamlProblem(location, f"invalid YAML: {message}")]
    except yaml.YAMLError as exc:
        return None, [YamlProblem(Location(file, 1, 1), f"invalid YAML: {exc}")]
    if root is None:
        return None, [YamlProblem(Location(file, 1, 1), "the file is empty")]
    document = YamlDocument(file, text, None)
    builder = _Builder(document)
    document.data = builder.build(root, ())
    if builder.problems:
        return None, builder.problems
    return document, []
