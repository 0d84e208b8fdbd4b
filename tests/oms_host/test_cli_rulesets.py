"""``tarif check``, ``tarif test`` and ``tarif eval`` as a rule author uses them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from oms_host.cli import main

REPO = Path(__file__).resolve().parents[2]
BROKEN = REPO / "tests" / "rule_language" / "broken"
EXAMPLES = REPO / "rulesets" / "examples"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().out


def test_check_passes_on_the_sample_rulesets(capsys) -> None:
    code, out = run(capsys, "check", str(REPO / "rulesets"))
    assert code == 0, out
    assert "ruleset(s) OK" in out


def test_check_lists_every_error_with_its_location_and_exits_1(capsys) -> None:
    code, out = run(capsys, "check", str(BROKEN))
    assert code == 1
    assert "unknown_symbol.yaml:9:41: unknown symbol `line.quantty`" in out
    assert "hint: did you mean `line.quantity`?" in out
    assert f"{len(list(BROKEN.glob('*.yaml')))} error(s)" in out


def test_check_on_a_missing_folder_says_so(capsys) -> None:
    code, out = run(capsys, "check", "/no/such/folder")
    assert code == 2 and "no such file or folder" in out


def test_test_runs_scenarios_and_closes_with_the_counts(capsys) -> None:
    code, out = run(capsys, "test", str(EXAMPLES))
    assert code == 0
    assert out.strip().splitlines()[-1] == "4 passed, 0 failed"


def test_test_prints_expected_and_actual_for_a_failure(tmp_path: Path, capsys) -> None:
    for file in EXAMPLES.glob("shipping_method*.yaml"):
        shutil.copy(file, tmp_path)
    scenarios = tmp_path / "shipping_method.scenarios.yaml"
    scenarios.write_text(scenarios.read_text().replace("expect: {method: freight}",
                                                       "expect: {method: express}"))
    code, out = run(capsys, "test", str(tmp_path))
    assert code == 1
    assert "method: expected 'express', got 'freight'" in out
    assert out.strip().splitlines()[-1] == "3 passed, 1 failed"


def test_eval_prints_the_result_and_explains_it(capsys) -> None:
    code, out = run(capsys, "eval", "round(price * 1.19, 0.05)", "--var", "price=10.01 EUR", "--explain")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "11.90"
    assert "type:  money[EUR]" in lines
    assert any(line.startswith("sympy: ") for line in lines)


def test_eval_reads_typed_variables(capsys) -> None:
    code, out = run(capsys, "eval", "days_between(a, b) > n and s = 'x'",
                    "--var", "a=2026-01-01", "--var", "b=2026-01-31", "--var", "n=29", "--var", "s=x")
    assert (code, out.strip()) == (0, "true")


def test_eval_reports_errors_with_a_caret(capsys) -> None:
    code, out = run(capsys, "eval", "quantity >", "--var", "quantity=3")
    assert code == 1
    assert "<expr>:1:11: the expression ends too early" in out


def test_the_role_choices_of_the_commands_are_the_apps_roles() -> None:
    from oms_host.auth import Role
    from oms_host.commands._options import ROLE_NAMES

    assert set(ROLE_NAMES) == {role.value for role in Role}
