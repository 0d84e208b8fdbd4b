"""``tarif configure`` on a product model and on the benchmark formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oms_host.cli import main
from tests.configurator.configurator_helpers import BR4CP, MEGANE, need_data

REPO = Path(__file__).resolve().parents[2]
LAPTOP = REPO / "rulesets" / "products" / "laptop.yaml"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["configure", *argv])
    return code, capsys.readouterr().out


def test_prints_the_valid_domains_after_the_choices(capsys) -> None:
    code, out = run(capsys, str(LAPTOP), "--choose", "gpu=rtx4080")
    assert code == 0
    assert "chassis: workstation17 (Workstation 17-inch)   [2 hidden]" in out
    assert "psu.watts: 210, 240" in out


def test_a_conflict_prints_the_explanation_and_what_to_undo(capsys) -> None:
    code, out = run(capsys, str(LAPTOP), "--choose", "gpu=rtx4080", "--choose", "chassis=slim13")
    assert code == 1
    assert "[gpu-needs-room]" in out
    assert "undo: gpu = rtx4080" in out


def test_json_output_has_domains_conflicts_and_completion(capsys) -> None:
    code, out = run(capsys, str(LAPTOP), "--choose", "chassis=slim13", "--complete",
                    "--why-not", "gpu=rtx4060", "--json")
    data = json.loads(out)
    assert code == 0
    assert data["valid_domains"]["gpu"] == ["none"]
    assert data["why_not"]["gpu=rtx4060"]["constraints"] == ["gpu-needs-room"]
    assert data["completion"]["storage_tb"] == "1.0"


def test_unknown_variables_and_values_exit_2_with_a_hint(capsys) -> None:
    code, out = run(capsys, str(LAPTOP), "--choose", "chasis=slim13")
    assert code == 2 and "did you mean 'chassis'" in out
    code, out = run(capsys, str(LAPTOP), "--choose", "chassis=tablet")
    assert code == 2 and "not in the domain" in out
    code, out = run(capsys, "/no/such/model.yaml")
    assert code == 2


def test_reads_xcsp_files_with_their_variable_names(capsys) -> None:
    need_data(BR4CP)
    code, out = run(capsys, str(BR4CP / "renault_small.xml"), "--choose", "v1=1",
                    "--choose", "v0=0")
    assert code == 1 and "[contrainte1]" in out
    code, out = run(capsys, str(BR4CP / "renault_small.xml"), "--choose", "v1=1", "--json")
    data = json.loads(out)
    assert data["valid_domains"]["v1"] == [1]
    assert "v5_0_Serie" not in data["valid_domains"]


def test_reads_the_clib_megane_folder(capsys) -> None:
    need_data(MEGANE)
    code, out = run(capsys, str(MEGANE), "--choose", "Var4=DIESEL", "--json")
    assert code == 0
    assert json.loads(out)["valid_domains"]["Var4"] == ["DIESEL"]


def test_the_bdd_backend_caches_its_compiled_diagram(capsys, tmp_path: Path) -> None:
    first = run(capsys, str(LAPTOP), "--backend", "bdd", "--cache", str(tmp_path),
                "--choose", "gpu=rtx4080", "--json")
    cached = list(tmp_path.glob("laptop-*.bdd"))
    assert first[0] == 0 and len(cached) == 1
    second = run(capsys, str(LAPTOP), "--backend", "bdd", "--cache", str(tmp_path),
                 "--choose", "gpu=rtx4080", "--json")
    assert second == first
    sat = run(capsys, str(LAPTOP), "--choose", "gpu=rtx4080", "--json")
    assert json.loads(sat[1])["valid_domains"] == json.loads(first[1])["valid_domains"]
