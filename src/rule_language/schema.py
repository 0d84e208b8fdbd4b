"""The symbols an expression may read, with their types.

A schema is declared as flat dotted paths (``customer.segment``) and stored as a
tree, so that ``customer`` itself is a record and a path through a list
(``slots.power`` where ``slots`` is a list of records) is a list of the field.
Lookups that fail suggest the nearest declared names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import RuleTypeError, UnknownSymbolError
from .types import ListType, RecordType, Type, record, type_from_spec

__all__ = ["Schema", "suggest"]


def suggest(name: str, candidates: Iterator[str] | list[str] | tuple[str, ...]) -> str | None:
    """A "did you mean" hint for ``name`` among ``candidates``, or None.

    >>> suggest("list_prise", ["list_price", "cost"])
    'did you mean `list_price`?'
    """
    matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not matches:
        return None
    return "did you mean " + " or ".join(f"`{m}`" for m in matches) + "?"


@dataclass(frozen=True)
class Schema:
    """An immutable tree of declared symbols; build with :meth:`of`."""

    root: RecordType

    @classmethod
    def of(cls, declarations: Mapping[str, Any] | None = None) -> Schema:
        """Declare ``{"customer.segment": enum(...), "line.quantity": INTEGER}``.

        Values may be :class:`Type` objects or YAML-style specs (``"money[EUR]"``).

        >>> s = Schema.of({"customer.segment": "string", "line.quantity": "integer"})
        >>> str(s.resolve("line.quantity"))
        'integer'
        """
        return cls(record({})).extend(declarations or {})

    def extend(self, declarations: Mapping[str, Any]) -> Schema:
        """A new schema with ``declarations`` added (or replaced)."""
        tree = _to_tree(self.root)
        for path, spec in declarations.items():
            parts = str(path).split(".")
            if not all(p.isidentifier() for p in parts):
                raise RuleTypeError(f"not a valid dotted path: {path!r}")
            node = tree
            for part in parts[:-1]:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = _to_tree(child) if isinstance(child, RecordType) else {}
                    node[part] = child
                node = child
            node[parts[-1]] = type_from_spec(spec)
        return Schema(_from_tree(tree))

    def resolve(self, path: str) -> Type:
        """The type of ``path``; raises :class:`UnknownSymbolError` with a suggestion."""
        current: Type = self.root
        walked: list[str] = []
        through_list = False
        for part in path.split("."):
            if isinstance(current, ListType) and isinstance(current.item, RecordType):
                through_list = True
                current = current.item
            if not isinstance(current, RecordType):
                raise UnknownSymbolError(
                    f"`{'.'.join(walked)}` is a {current}, it has no field `{part}`"
                )
            found = current.field(part)
            if found is None:
                names = [name for name, _ in current.fields]
                prefix = ".".join(walked)
                full = [f"{prefix}.{n}" if prefix else n for n in names]
                shown = f"{prefix}.{part}" if prefix else part
                raise UnknownSymbolError(
                    f"unknown symbol `{shown}`",
                    hint=suggest(shown, full) or _declared_hint(full),
                )
            walked.append(part)
            current = found
        if through_list and not isinstance(current, ListType):
            return ListType(current)
        return current

    def paths(self) -> list[str]:
        """Every declared leaf path, sorted (for listings and suggestions)."""
        out: list[str] = []

        def walk(prefix: str, node: Type) -> None:
            if isinstance(node, RecordType):
                for name, child in node.fields:
                    walk(f"{prefix}.{name}" if prefix else name, child)
            else:
                out.append(prefix)

        walk("", self.root)
        return sorted(out)

    def __contains__(self, path: object) -> bool:
        if not isinstance(path, str):
            return False
        try:
            self.resolve(path)
        except UnknownSymbolError:
            return False
        return True


def _declared_hint(names: list[str]) -> str | None:
    if not names:
        return "nothing is declared here"
    shown = ", ".join(f"`{n}`" for n in sorted(names)[:8])
    return f"declared: {shown}" + (", …" if len(names) > 8 else "")


def _to_tree(node: RecordType | None) -> dict[str, Any]:
    if node is None:
        return {}
    return {name: (_to_tree(t) if isinstance(t, RecordType) else t) for name, t in node.fields}


def _from_tree(tree: dict[str, Any]) -> RecordType:
    return record({k: (_from_tree(v) if isinstance(v, dict) else v) for k, v in tree.items()})
