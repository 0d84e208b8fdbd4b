"""Loading a ruleset folder for a command, with every problem printed on failure."""

from __future__ import annotations

from rule_language import RulesetBundle, RulesetLoadError, Severity, load_ruleset_dir

from ..kinds import all_kinds

__all__ = ["load_or_report"]


def load_or_report(directory: str, command: str) -> RulesetBundle | int:
    """The bundle, or the exit code after printing why it could not be loaded.

    2: the folder does not exist; 1: the rulesets have errors (each printed
    with its ``file:line:col``, then a count).
    """
    try:
        return load_ruleset_dir(directory, all_kinds())
    except FileNotFoundError as exc:
        print(f"tarif {command}: {exc}")
        return 2
    except RulesetLoadError as exc:
        for problem in exc.problems:
            print(problem)
        errors = sum(1 for p in exc.problems if p.severity == Severity.ERROR)
        print(f"{errors} error(s), {len(exc.problems) - errors} warning(s)")
        return 1
