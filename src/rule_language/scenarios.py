"""Run scenario files: rule authors' tests as data (GIVEN inputs, EXPECT outputs).

Expectations are compared as a subset: every key written under ``expect`` must
match the actual result; keys not written are not checked. Numbers compare by
value (``12.5`` equals ``12.50``), and a text expectation against a number is
read as a decimal, so ``"12.50"`` works too.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel

from .errors import RuleLanguageError
from .rulesets import LoadedRuleset, RulesetBundle, RulesetKind
from .schema import suggest

__all__ = ["ScenarioOutcome", "ScenarioRunner", "compare", "run_scenarios"]

ScenarioRunner = Callable[[RulesetBundle, Mapping[str, Any], "dt.date | None"], Any]


@dataclass(frozen=True)
class ScenarioOutcome:
    file: str
    line: int
    case: str
    passed: bool
    differences: tuple[str, ...] = ()

    def __str__(self) -> str:
        status = "PASS" if self.passed else "FAIL"
        text = f"{status} {self.file}:{self.line}: {self.case}"
        for difference in self.differences:
            text += f"\n    {difference}"
        return text


def plain(value: Any) -> Any:
    """Results as plain data: models, dataclasses and enums become dicts and values."""
    if isinstance(value, BaseModel):
        return plain(value.model_dump(mode="python"))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def _equal(expected: Any, actual: Any) -> bool:
    if isinstance(actual, bool) or isinstance(expected, bool):
        return expected is actual
    if isinstance(actual, int | Decimal) and isinstance(expected, int | Decimal | str):
        try:
            return Decimal(str(expected)) == Decimal(actual)
        except InvalidOperation:
            return False
    if isinstance(actual, dt.date) and isinstance(expected, str):
        return actual.isoformat() == expected
    return bool(expected == actual)


def compare(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Differences between ``expected`` (a subset) and ``actual``, as readable lines."""
    where = path or "result"
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return [f"{where}: expected a mapping, got {actual!r}"]
        out = []
        for key, value in expected.items():
            if key not in actual:
                hint = suggest(str(key), [str(k) for k in actual])
                out.append(f"{where}.{key}: missing in the result" + (f" ({hint})" if hint else ""))
                continue
            out.extend(compare(value, actual[key], f"{path}.{key}" if path else str(key)))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {actual!r}"]
        if len(expected) != len(actual):
            return [f"{where}: expected {len(expected)} item(s), got {len(actual)}: {actual!r}"]
        out = []
        for index, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(compare(e, a, f"{where}[{index}]"))
        return out
    if not _equal(expected, actual):
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


def run_scenarios(bundle: RulesetBundle, kinds: Iterable[RulesetKind],
                  runners: Mapping[str, ScenarioRunner] | None = None) -> list[ScenarioOutcome]:
    """Run every case of every ``scenarios`` file in ``bundle``."""
    from .builtin_kinds import BUILTIN_KINDS

    registry = {k.name: k for k in (*BUILTIN_KINDS, *kinds)}
    runners = runners or {}
    outcomes: list[ScenarioOutcome] = []
    for scenario_file in bundle.of_kind("scenarios"):
        model = scenario_file.model
        for index, case in enumerate(model.cases):
            line = scenario_file.document.location(("cases", index)).line
            as_of = case.as_of or model.as_of
            try:
                run = _target(model, scenario_file, bundle, registry, runners, as_of)
                actual = plain(run(case.given))
            except (RuleLanguageError, LookupError, ValueError, ArithmeticError, TypeError) as exc:
                if case.expect_error is not None and case.expect_error.lower() in str(exc).lower():
                    outcomes.append(ScenarioOutcome(scenario_file.file, line, case.name, True))
                else:
                    outcomes.append(ScenarioOutcome(scenario_file.file, line, case.name, False,
                                                    (f"error: {exc}",)))
                continue
            if case.expect_error is not None:
                differences = [f"expected an error containing {case.expect_error!r}, got {actual!r}"]
            else:
                differences = compare(case.expect, actual)
            outcomes.append(ScenarioOutcome(scenario_file.file, line, case.name, not differences,
                                            tuple(differences)))
    return outcomes


class ScenarioSetupError(LookupError):
    """The scenario file names a target that does not exist."""


def _target(model: Any, scenario_file: LoadedRuleset, bundle: RulesetBundle,
            registry: Mapping[str, RulesetKind], runners: Mapping[str, ScenarioRunner],
            as_of: dt.date | None) -> Callable[[Mapping[str, Any]], Any]:
    if model.runner is not None:
        runner = runners.get(model.runner)
        if runner is None:
            hint = suggest(model.runner, list(runners))
            raise ScenarioSetupError(f"unknown scenario runner `{model.runner}`"
                                     + (f"; {hint}" if hint else f"; runners: {', '.join(sorted(runners))}"))
        return lambda given: runner(bundle, given, as_of)
    target = bundle.get(model.ruleset, as_of)
    kind = registry.get(target.kind)
    if kind is None or kind.run_scenario is None:
        raise ScenarioSetupError(f"rulesets of kind `{target.kind}` cannot be run by scenarios")
    run_scenario = kind.run_scenario
    return lambda given: run_scenario(target, bundle, given, as_of)  # type: ignore[arg-type]
