"""Loading ruleset files: every defect reported once, at the right line and column."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest

from rule_language import (
    RulesetKind,
    RulesetLoadError,
    Severity,
    load_ruleset_dir,
    load_rulesets,
    run_scenarios,
)
from rule_language.builtin_kinds import FormulasFile

BROKEN = Path(__file__).parent / "broken"
EXPECT = re.compile(r"^# expect-error: (\d+):(\d+) (.+)$")


def _expectation(path: Path) -> tuple[int, int, str]:
    match = EXPECT.match(path.read_text(encoding="utf-8").splitlines()[0])
    assert match, f"{path.name} must start with '# expect-error: LINE:COL message'"
    return int(match.group(1)), int(match.group(2)), match.group(3)


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_defect_gets_one_precise_error(path: Path) -> None:
    line, column, fragment = _expectation(path)
    with pytest.raises(RulesetLoadError) as caught:
        load_rulesets([(path.name, path.read_text(encoding="utf-8"))], [])
    errors = [p for p in caught.value.problems if p.severity == Severity.ERROR]
    assert len(errors) == 1, "\n".join(map(str, errors))
    problem = errors[0]
    assert fragment in problem.message, str(problem)
    assert (problem.line, problem.column) == (line, column), str(problem)
    assert problem.file == path.name


def test_a_folder_reports_all_its_problems_at_once_and_loads_nothing() -> None:
    with pytest.raises(RulesetLoadError) as caught:
        load_ruleset_dir(BROKEN, [])
    files = {p.file for p in caught.value.problems if p.severity == Severity.ERROR}
    assert len(files) == len(list(BROKEN.glob("*.yaml")))


def test_errors_carry_suggestions() -> None:
    texts = {p.name: p.read_text(encoding="utf-8") for p in BROKEN.glob("*.yaml")}
    with pytest.raises(RulesetLoadError) as caught:
        load_rulesets(list(texts.items()), [])
    hints = {p.file: p.hint for p in caught.value.problems}
    assert "line.quantity" in hints["unknown_symbol.yaml"]
    assert "decision_table" in hints["unknown_kind.yaml"]
    assert "formulas" in hints["unknown_field.yaml"]
    assert "gold" in hints["enum_typo.yaml"]
    assert "platinum" in hints["bad_cell.yaml"]


GOOD = """\
kind: formulas
name: vat
version: 2
effective_from: 2026-01-01
symbols:
  line.net: money[EUR]
formulas:
  vat: "round(line.net * 0.19, 0.01)"
  gross: "line.net + vat"
"""


def test_formulas_see_the_formulas_above_them() -> None:
    bundle = load_rulesets([("vat.yaml", GOOD)], [])
    result = bundle.get("vat").artefact.evaluate({"line": {"net": Decimal("10.00")}})
    assert str(result["gross"]) == "11.90"


def test_two_versions_with_overlapping_periods_are_refused() -> None:
    other = GOOD.replace("version: 2", "version: 3").replace("2026-01-01", "2026-06-01")
    with pytest.raises(RulesetLoadError, match="overlapping period"):
        load_rulesets([("a.yaml", GOOD), ("b.yaml", other)], [])
    closed = GOOD.replace("effective_from: 2026-01-01",
                          "effective_from: 2025-01-01\neffective_to: 2025-12-31")
    bundle = load_rulesets([("a.yaml", GOOD), ("b.yaml", closed)], [])
    assert bundle.get("vat", dt.date(2025, 6, 1)).file == "b.yaml"
    assert bundle.get("vat", dt.date(2026, 6, 1)).file == "a.yaml"


def test_a_naive_datetime_is_refused() -> None:
    text = GOOD.replace("effective_from: 2026-01-01", "effective_from: 2026-01-01 10:00:00")
    with pytest.raises(RulesetLoadError, match="without a time zone"):
        load_rulesets([("vat.yaml", text)], [])


def test_a_kind_from_another_package_plugs_in() -> None:
    seen = []

    def compile_it(model, ctx):
        seen.append(model.name)
        return "artefact"

    kind = RulesetKind("custom", FormulasFile.__base__, compile_it)  # the bare header model
    bundle = load_rulesets([("c.yaml", "kind: custom\nname: c\nversion: 1\n")], [kind])
    assert seen == ["c"] and bundle.get("c").artefact == "artefact"


SCENARIOS = """\
kind: scenarios
name: vat-tests
version: 1
ruleset: vat
as_of: 2026-03-01
cases:
  - name: nineteen percent
    given: {line: {net: 100.00}}
    expect: {vat: 19.00, gross: "119.00"}
  - name: deliberately wrong
    given: {line: {net: 100.00}}
    expect: {vat: 20.00}
  - name: missing input
    given: {line: {}}
    expect_error: no value for `net`
"""


def test_scenarios_report_expected_and_actual_values() -> None:
    bundle = load_rulesets([("vat.yaml", GOOD), ("vat.scenarios.yaml", SCENARIOS)], [])
    outcomes = run_scenarios(bundle, [])
    assert [o.passed for o in outcomes] == [True, False, True]
    assert outcomes[1].differences == ("vat: expected Decimal('20.00'), got Decimal('19.00')",)
    assert outcomes[1].line == 10


def test_a_scenario_naming_a_missing_ruleset_fails_with_a_suggestion() -> None:
    text = SCENARIOS.replace("ruleset: vat", "ruleset: vta")
    bundle = load_rulesets([("vat.yaml", GOOD), ("s.yaml", text)], [])
    outcome = run_scenarios(bundle, [])[0]
    assert not outcome.passed and "did you mean `vat`" in outcome.differences[0]
