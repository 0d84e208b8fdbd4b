"""The ruleset kinds this package provides itself.

- ``decision_table``: a standalone table over declared symbols;
- ``formulas``: named expressions over declared symbols, evaluated in order
  (a formula may use the ones above it);
- ``scenarios``: tests as data, GIVEN inputs and EXPECT outputs, run by
  :func:`rule_language.scenarios.run_scenarios` and ``tarif test``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import RuleLanguageError
from .expression import CompiledExpression
from .rulesets import CompileContext, LinkContext, LoadedRuleset, RulesetBundle, RulesetHeader, RulesetKind
from .schema import Schema
from .tables import CompiledDecisionTable, DecisionTableSpec
from .types import Type, type_from_spec

__all__ = ["BUILTIN_KINDS", "DecisionTableFile", "FormulasFile", "ScenarioCase", "ScenariosFile",
           "schema_from_symbols"]


def schema_from_symbols(symbols: Mapping[str, Any], ctx: CompileContext,
                        base: Schema | None = None) -> Schema | None:
    """A schema from a file's ``symbols:`` mapping; located problems go to ``ctx``."""
    declarations: dict[str, Type] = {}
    for name, spec in symbols.items():
        try:
            declarations[name] = type_from_spec(spec)
        except RuleLanguageError as exc:
            ctx.error(("symbols", name), exc.message, hint=exc.hint)
    if ctx.has_errors:
        return None
    try:
        return (base or Schema.of()).extend(declarations)
    except RuleLanguageError as exc:
        ctx.error(("symbols",), exc.message, hint=exc.hint)
        return None


# -- decision_table ---------------------------------------------------------------
class DecisionTableFile(RulesetHeader, DecisionTableSpec):
    """A decision table file: the header, the symbols it reads, and the table."""

    symbols: dict[str, Any] = Field(default_factory=dict)


def _compile_table(model: DecisionTableFile, ctx: CompileContext) -> CompiledDecisionTable | None:
    schema = schema_from_symbols(model.symbols, ctx)
    if schema is None:
        return None
    return ctx.decision_table(model, (), schema)  # type: ignore[no-any-return]


def _run_table(target: LoadedRuleset, bundle: RulesetBundle, given: Mapping[str, Any],
               as_of: dt.date | None) -> Mapping[str, Any]:
    table: CompiledDecisionTable = target.artefact
    result = table.evaluate(given, trace=True)
    value = result.value
    outputs = value if isinstance(value, dict) else {table.output_names[0]: value}
    if table.spec.aggregation is not None or table.hit_policy in ("COLLECT", "RULE_ORDER"):
        outputs = {"result": value}
    return {**outputs, "fired_rows": list(result.fired_rows)}


# -- formulas -----------------------------------------------------------------------
class FormulaSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    expression: str
    type: Any = None
    description: str | None = None


MAX_FORMULAS = 500
"""The most formulas one ``formulas`` file may hold: each sees all above it, so
compiling costs grow with the square of their number (500 compile in ~0.3 s)."""


class FormulasFile(RulesetHeader):
    symbols: dict[str, Any] = Field(default_factory=dict)
    formulas: dict[str, FormulaSpec] = Field(min_length=1, max_length=MAX_FORMULAS)

    @field_validator("formulas", mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ({"expression": v} if not isinstance(v, dict) else v) for k, v in value.items()}
        return value


@dataclass(frozen=True)
class CompiledFormulas:
    formulas: tuple[tuple[str, CompiledExpression], ...]

    def evaluate(self, env: Mapping[str, Any]) -> dict[str, Any]:
        """Every formula's value; later formulas see earlier ones by name."""
        scope = dict(env)
        results: dict[str, Any] = {}
        for name, expression in self.formulas:
            results[name] = scope[name] = expression.evaluate(scope)
        return results


def _compile_formulas(model: FormulasFile, ctx: CompileContext) -> CompiledFormulas | None:
    schema = schema_from_symbols(model.symbols, ctx)
    if schema is None:
        return None
    compiled: list[tuple[str, CompiledExpression]] = []
    for name, spec in model.formulas.items():
        if not name.isidentifier():
            ctx.error(("formulas", name), f"formula name `{name}` is not an identifier")
            continue
        expect = None
        if spec.type is not None:
            try:
                expect = type_from_spec(spec.type)
            except RuleLanguageError as exc:
                ctx.error(("formulas", name, "type"), exc.message, hint=exc.hint)
                continue
        expression = ctx.expression(spec.expression, ("formulas", name, "expression"), schema, expect)
        if expression is not None:
            compiled.append((name, expression))
            schema = schema.extend({name: expect or expression.type})
    return CompiledFormulas(tuple(compiled))


def _run_formulas(target: LoadedRuleset, bundle: RulesetBundle, given: Mapping[str, Any],
                  as_of: dt.date | None) -> Mapping[str, Any]:
    return target.artefact.evaluate(given)  # type: ignore[no-any-return]


# -- scenarios -------------------------------------------------------------------------
class ScenarioCase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    as_of: dt.date | None = None
    given: dict[str, Any] = Field(default_factory=dict)
    expect: dict[str, Any] | None = None
    expect_error: str | None = Field(default=None, description="a fragment of the expected error message")

    @model_validator(mode="after")
    def _expects_something(self) -> ScenarioCase:
        if (self.expect is None) == (self.expect_error is None):
            raise ValueError("a case needs exactly one of `expect` or `expect_error`")
        return self


class ScenariosFile(RulesetHeader):
    ruleset: str | None = None
    runner: str | None = None
    as_of: dt.date | None = None
    cases: list[ScenarioCase] = Field(min_length=1)

    @model_validator(mode="after")
    def _one_target(self) -> ScenariosFile:
        if (self.ruleset is None) == (self.runner is None):
            raise ValueError("name exactly one target: `ruleset: NAME` or `runner: NAME`")
        return self


def _compile_scenarios(model: ScenariosFile, ctx: CompileContext) -> ScenariosFile:
    names = [case.name for case in model.cases]
    for index, name in enumerate(names):
        if name in names[:index]:
            ctx.error(("cases", index, "name"), f"two cases are named {name!r}")
    return model


def _link_scenarios(scenario_files: Sequence[LoadedRuleset], ctx: LinkContext) -> None:
    """Checked by the runner, which also knows the bundle-wide runners."""


BUILTIN_KINDS: tuple[RulesetKind, ...] = (
    RulesetKind("decision_table", DecisionTableFile, _compile_table, run_scenario=_run_table),
    RulesetKind("formulas", FormulasFile, _compile_formulas, run_scenario=_run_formulas),
    RulesetKind("scenarios", ScenariosFile, _compile_scenarios, link=_link_scenarios),
)
