"""Every ruleset kind and scenario runner Tarif knows, gathered from its packages.

The host app is the one place that sees all packages, so it composes their
contributions; the packages themselves never import each other upward.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from rule_language import RulesetKind, ScenarioRunner

__all__ = ["all_kinds", "all_scenario_runners"]

_CONTRIBUTORS = ("configurator", "pricing_engine", "order_management")


def _packages() -> list[ModuleType]:
    return [importlib.import_module(name) for name in _CONTRIBUTORS]


def all_kinds() -> tuple[RulesetKind, ...]:
    """The ruleset kinds of every package (the built-in ones are always added by the loader)."""
    kinds: list[RulesetKind] = []
    for package in _packages():
        kinds.extend(getattr(package, "RULESET_KINDS", ()))
    return tuple(kinds)


def all_scenario_runners() -> Mapping[str, ScenarioRunner]:
    """Bundle-wide scenario runners (e.g. ``price_order``) of every package."""
    runners: dict[str, Any] = {}
    for package in _packages():
        runners.update(getattr(package, "SCENARIO_RUNNERS", {}))
    return runners
