"""Ruleset files: the header every file shares, kinds, and loading a folder.

Loading is all-or-nothing and reports everything at once: every file is parsed,
validated against its kind's pydantic schema and compiled; then kinds check
references across files. Each problem carries ``file:line:col``. If any error
was found, :class:`RulesetLoadError` lists them all and nothing is returned, so
a half-valid folder can never be priced or configured against.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path as FilePath
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import RuleLanguageError, RulesetLoadError
from .expression import CompiledExpression, compile_expression
from .schema import Schema, suggest
from .source import Location
from .types import Type
from .yaml_source import MAX_FILE_BYTES, Path, YamlDocument, decode_source, load_yaml

__all__ = [
    "CompileContext",
    "LinkContext",
    "LoadedRuleset",
    "Problem",
    "RulesetBundle",
    "RulesetHeader",
    "RulesetKind",
    "Severity",
    "load_ruleset_dir",
    "load_rulesets",
]


_UNEXPECTED = (ValueError, TypeError, LookupError, ArithmeticError, RecursionError)
"""What a kind's compile or link step may raise by mistake; reported as a problem of the file."""


class Severity(enum.StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, order=True)
class Problem:
    """One located problem in a ruleset file."""

    file: str
    line: int
    column: int
    message: str
    severity: Severity = Severity.ERROR
    hint: str | None = None
    text: str | None = None

    def __str__(self) -> str:
        label = "" if self.severity == Severity.ERROR else "warning: "
        out = f"{self.file}:{self.line}:{self.column}: {label}{self.message}"
        if self.text:
            out += "\n    " + self.text.replace("\n", "\n    ")
        if self.hint:
            out += f"\n    hint: {self.hint}"
        return out

    @classmethod
    def at(cls, location: Location, message: str, severity: Severity = Severity.ERROR,
           hint: str | None = None, text: str | None = None) -> Problem:
        return cls(location.file or "<text>", location.line, location.column, message, severity, hint, text)


class RulesetHeader(BaseModel):
    """The fields every ruleset file starts with; each kind's model subclasses it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$", max_length=120)
    version: str
    description: str | None = None
    source: str | None = Field(default=None, description="where the numbers came from")
    effective_from: dt.date | None = None
    effective_to: dt.date | None = None

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _period_is_ordered(self) -> RulesetHeader:
        if self.effective_from and self.effective_to and self.effective_to < self.effective_from:
            raise ValueError("effective_to is before effective_from")
        return self

    @property
    def ref(self) -> str:
        """``name@version``, as waterfalls and traces cite a ruleset."""
        return f"{self.name}@{self.version}"

    def is_effective(self, as_of: dt.date) -> bool:
        return (self.effective_from is None or self.effective_from <= as_of) and (
            self.effective_to is None or as_of <= self.effective_to
        )


class CompileContext:
    """What a kind's compile function uses to compile expressions and report problems."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.problems: list[Problem] = []

    @property
    def file(self) -> str:
        return self.document.file

    def location(self, path: Path) -> Location:
        return self.document.location(path)

    def error(self, path: Path, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem.at(self.location(path), message, hint=hint))

    def warning(self, path: Path, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem.at(self.location(path), message, Severity.WARNING, hint))

    def report(self, error: RuleLanguageError, path: Path) -> None:
        location = error.location or self.location(path)
        self.problems.append(Problem.at(location, error.message, hint=error.hint, text=error.text))

    def expression(self, text: str, path: Path, schema: Schema,
                   expect: Type | None = None) -> CompiledExpression | None:
        """Compile the rule text found at ``path``; None (and a located problem) on error."""
        if not isinstance(text, str):
            if isinstance(text, bool | int) or text.__class__.__name__ == "Decimal":
                text = str(text).lower() if isinstance(text, bool) else str(text)
            else:
                self.error(path, "expected rule text")
                return None
        try:
            return compile_expression(text, schema, expect=expect, origin=self.document.origin_of(path))
        except RuleLanguageError as exc:
            self.report(exc, path)
            return None

    def decision_table(self, spec: Any, path: Path, schema: Schema) -> Any:
        """Compile a decision table found at ``path`` (see :mod:`rule_language.tables`)."""
        from .tables import compile_decision_table

        return compile_decision_table(spec, schema, self, path)

    @property
    def has_errors(self) -> bool:
        return any(p.severity == Severity.ERROR for p in self.problems)


@dataclass(frozen=True)
class LoadedRuleset:
    """A validated, compiled ruleset file."""

    model: Any
    artefact: Any
    file: str
    document: YamlDocument = field(repr=False)

    @property
    def kind(self) -> str:
        return str(self.model.kind)

    @property
    def name(self) -> str:
        return str(self.model.name)

    @property
    def version(self) -> str:
        return str(self.model.version)

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"


class LinkContext:
    """Reports problems found when checking references across files."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def error(self, ruleset: LoadedRuleset, path: Path, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem.at(ruleset.document.location(path), message, hint=hint))

    def warning(self, ruleset: LoadedRuleset, path: Path, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem.at(ruleset.document.location(path), message, Severity.WARNING, hint))


CompileFunction = Callable[[Any, CompileContext], Any]
LinkFunction = Callable[[Sequence[LoadedRuleset], LinkContext], None]
ScenarioFunction = Callable[
    [LoadedRuleset, "RulesetBundle", Mapping[str, Any], "dt.date | None"], Mapping[str, Any]
]


@dataclass(frozen=True)
class RulesetKind:
    """How to validate, compile, cross-check and test one kind of ruleset file."""

    name: str
    model: type[BaseModel]
    compile: CompileFunction
    link: LinkFunction | None = None
    run_scenario: ScenarioFunction | None = None


@dataclass(frozen=True)
class RulesetBundle:
    """Every ruleset of a folder, loaded and compiled."""

    rulesets: tuple[LoadedRuleset, ...]
    warnings: tuple[Problem, ...] = ()

    def of_kind(self, kind: str, as_of: dt.date | None = None) -> list[LoadedRuleset]:
        """The rulesets of ``kind`` (effective on ``as_of`` when given), in file order."""
        return [r for r in self.rulesets
                if r.kind == kind and (as_of is None or r.model.is_effective(as_of))]

    def get(self, name: str, as_of: dt.date | None = None) -> LoadedRuleset:
        """The ruleset called ``name`` (the version effective on ``as_of`` when given)."""
        found = [r for r in self.rulesets
                 if r.name == name and (as_of is None or r.model.is_effective(as_of))]
        if not found:
            raise LookupError(f"no ruleset named {name!r}"
                              + (f" effective on {as_of}" if as_of else "")
                              + (f"; {hint}" if (hint := suggest(name, [r.name for r in self.rulesets]))
                                 else ""))
        return found[-1]


def _pydantic_problems(error: pydantic.ValidationError, document: YamlDocument) -> list[Problem]:
    problems = []
    items = error.errors(include_url=False)
    # A misspelt field is both "unknown" and, for the field meant, "missing": report it once.
    misspelt = set()
    for item in items:
        if item["type"] == "extra_forbidden":
            path = _document_path(document.data, tuple(item["loc"]))
            hint = suggest(str(path[-1]), _known_fields(error, path[:-1]))
            for other in items:
                if other["type"] == "missing" and hint and f"`{other['loc'][-1]}`" in hint:
                    misspelt.add(tuple(other["loc"]))
    for item in items:
        loc = tuple(item["loc"])
        path = _document_path(document.data, loc)
        field_name = str(loc[-1]) if loc else ""
        if item["type"] == "missing":
            if loc not in misspelt:
                problems.append(Problem.at(document.location(path), f"missing field `{field_name}`"))
        elif item["type"] == "extra_forbidden":
            known = _known_fields(error, path[:-1])
            problems.append(Problem.at(document.key_location(path), f"unknown field `{field_name}`",
                                       hint=suggest(field_name, known) if known else None))
        else:
            where = ".".join(str(p) for p in path) or "file"
            problems.append(Problem.at(document.location(path), f"{where}: {item['msg']}"))
    return problems


def _document_path(data: Any, loc: tuple[Any, ...]) -> Path:
    """Map pydantic's ``loc`` onto the document, skipping union tags and validator names."""
    path: list[str | int] = []
    current = data
    for index, part in enumerate(loc):
        in_mapping = isinstance(current, dict) and part in current
        in_list = isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current)
        if in_mapping or in_list:
            current = current[part]
        elif isinstance(current, dict) and isinstance(part, str) and index == len(loc) - 1:
            path.append(part)  # a missing or unknown field: the last step
            break
        else:
            continue
        path.append(part)
    return tuple(path)


def _known_fields(error: pydantic.ValidationError, parent: Path) -> list[str]:
    model = getattr(error, "_tarif_model", None)
    if model is None:
        return []
    current: Any = model
    for part in parent:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return []
        current = _model_of(info.annotation)
    return list(getattr(current, "model_fields", {}))


def _model_of(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _load_one(
    file: str, source: str | bytes, kinds: Mapping[str, RulesetKind]
) -> tuple[LoadedRuleset | None, list[Problem]]:
    if isinstance(source, bytes):
        text, yaml_problems = decode_source(source, file)
        if text is None:
            return None, [Problem.at(p.location, p.message, hint=p.hint) for p in yaml_problems]
    else:
        text = source
    document, yaml_problems = load_yaml(text, file)
    if document is None:
        return None, [Problem.at(p.location, p.message, hint=p.hint) for p in yaml_problems]
    data = document.data
    if not isinstance(data, dict):
        return None, [Problem.at(document.location(()), "a ruleset file must be a mapping with a `kind`")]
    kind_name = data.get("kind")
    if not isinstance(kind_name, str):
        return None, [Problem.at(document.location(("kind",)), "missing field `kind`",
                                 hint="kinds: " + ", ".join(sorted(kinds)))]
    kind = kinds.get(kind_name)
    if kind is None:
        hint = suggest(kind_name, list(kinds)) or "kinds: " + ", ".join(sorted(kinds))
        return None, [Problem.at(document.location(("kind",)), f"unknown kind `{kind_name}`", hint=hint)]
    try:
        model = kind.model.model_validate(data)
    except pydantic.ValidationError as exc:
        exc._tarif_model = kind.model  # type: ignore[attr-defined]
        return None, _pydantic_problems(exc, document)
    context = CompileContext(document)
    try:
        artefact = kind.compile(model, context)
    except RuleLanguageError as exc:
        context.report(exc, ())
        artefact = None
    except _UNEXPECTED as exc:  # a defect the kind did not foresee: still a located problem, never a crash
        context.error((), f"this file could not be compiled: {type(exc).__name__}: {exc}")
        artefact = None
    if context.has_errors:
        return None, context.problems
    return LoadedRuleset(model, artefact, file, document), context.problems


def load_rulesets(sources: Iterable[tuple[str, str | bytes]], kinds: Iterable[RulesetKind]) -> RulesetBundle:
    """Load ``(file name, text)`` pairs; raise :class:`RulesetLoadError` listing every problem.

    The text may be given as bytes, as :func:`read_sources` does: it is then
    decoded here, so a file that is not UTF-8 or too large is one more located
    problem rather than an exception. Pure: the caller reads the files (see
    :func:`load_ruleset_dir`).
    """
    registry = _registry(kinds)
    problems: list[Problem] = []
    loaded: list[LoadedRuleset] = []
    for file, text in sources:
        ruleset, found = _load_one(file, text, registry)
        problems.extend(found)
        if ruleset is not None:
            loaded.append(ruleset)
    problems.extend(_check_names(loaded))
    link = LinkContext()
    for kind in registry.values():
        members = [r for r in loaded if r.kind == kind.name]
        if kind.link is not None and members:
            try:
                kind.link(members, link)
            except _UNEXPECTED as exc:
                link.error(members[0], (), f"the `{kind.name}` files could not be checked together: "
                                           f"{type(exc).__name__}: {exc}")
    problems.extend(link.problems)
    errors = [p for p in problems if p.severity == Severity.ERROR]
    if errors:
        raise RulesetLoadError(sorted(problems))
    return RulesetBundle(tuple(loaded), tuple(sorted(problems)))


def _registry(kinds: Iterable[RulesetKind]) -> dict[str, RulesetKind]:
    from .builtin_kinds import BUILTIN_KINDS

    registry: dict[str, RulesetKind] = {}
    for kind in (*BUILTIN_KINDS, *kinds):
        if kind.name in registry and registry[kind.name] is not kind:
            raise ValueError(f"two ruleset kinds are named {kind.name!r}")
        registry[kind.name] = kind
    return registry


def _check_names(loaded: list[LoadedRuleset]) -> list[Problem]:
    """Two files may share a name only as versions whose effective periods do not overlap."""
    problems: list[Problem] = []
    by_name: dict[str, list[LoadedRuleset]] = {}
    for ruleset in loaded:
        by_name.setdefault(ruleset.name, []).append(ruleset)
    for name, group in by_name.items():
        for index, later in enumerate(group):
            for earlier in group[:index]:
                if _periods_overlap(earlier.model, later.model):
                    problems.append(Problem.at(
                        later.document.location(("name",)),
                        f"ruleset `{name}` is also defined in {earlier.file} for an overlapping period",
                        hint="give each version an effective_from/effective_to that do not overlap",
                    ))
    return problems


def _periods_overlap(a: RulesetHeader, b: RulesetHeader) -> bool:
    lo = max(a.effective_from or dt.date.min, b.effective_from or dt.date.min)
    hi = min(a.effective_to or dt.date.max, b.effective_to or dt.date.max)
    return lo <= hi


def read_sources(directory: str | FilePath) -> list[tuple[str, bytes]]:
    """Every ``*.yaml``/``*.yml`` file below ``directory``, sorted, as (path, bytes).

    Files are read as bytes and decoded by :func:`load_rulesets`, which
    reports a file that is not UTF-8 at the line and byte where decoding
    failed. At most one byte past :data:`~rule_language.yaml_source.MAX_FILE_BYTES`
    is read from each file, so an oversized file is refused without being read whole.
    """
    root = FilePath(directory)
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    else:
        raise FileNotFoundError(f"no such file or folder: {directory}")
    return [(str(p), _read_bounded(p)) for p in files]


def _read_bounded(path: FilePath) -> bytes:
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def load_ruleset_dir(directory: str | FilePath, kinds: Iterable[RulesetKind]) -> RulesetBundle:
    """Read and load every ruleset file below ``directory`` (the only I/O here)."""
    return load_rulesets(read_sources(directory), kinds)
