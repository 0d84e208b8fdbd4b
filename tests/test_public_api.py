"""Each package's ``__all__`` is its public API: every name exists and nothing is missing."""

from __future__ import annotations

import importlib

import pytest

PACKAGES = ["rule_language", "configurator", "pricing_engine", "order_management",
            "order_management.promising", "order_management.fulfilment", "oms_host"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_exported_name_exists(name: str) -> None:
    package = importlib.import_module(name)
    exported = getattr(package, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    missing = [item for item in exported if not hasattr(package, item)]
    assert not missing, f"{name}.__all__ names missing attributes: {missing}"
    assert len(set(exported)) == len(exported), f"{name}.__all__ has duplicates"


def test_rule_language_exports_its_contract() -> None:
    import rule_language

    for name in ("compile_expression", "Schema", "load_rulesets", "load_ruleset_dir", "RulesetKind",
                 "CompileContext", "DecisionTableSpec", "run_scenarios", "RuleLanguageError",
                 "EvaluationError", "Problem", "RulesetLoadError", "VOCABULARY", "RuleKind", "schema_for",
                 "vocabulary_table"):
        assert name in rule_language.__all__


def test_cores_do_not_import_upward() -> None:
    """configurator and pricing_engine import rule_language only; never the order layer or host."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[1] / "src"
    forbidden = {
        "rule_language": ("configurator", "pricing_engine", "order_management", "oms_host"),
        "configurator": ("pricing_engine", "order_management", "oms_host"),
        "pricing_engine": ("configurator", "order_management", "oms_host"),
        "order_management": ("oms_host",),
    }
    offenders = []
    for package, banned in forbidden.items():
        for path in (root / package).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                stripped = line.strip()
                if stripped.startswith(("import ", "from ")) and any(
                    stripped.split()[1].split(".")[0] == b for b in banned
                ):
                    offenders.append(f"{path.relative_to(root)}: {stripped}")
    assert not offenders, "imports must flow one way:\n" + "\n".join(offenders)
