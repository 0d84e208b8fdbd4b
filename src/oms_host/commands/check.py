"""``tarif check DIR``: validate every ruleset file; exit 0 when clean, 1 otherwise."""

from __future__ import annotations

import argparse

from rule_language import RulesetLoadError, load_ruleset_dir

from ..kinds import all_kinds


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("check", help="validate every ruleset file below DIR")
    parser.add_argument("directory", metavar="DIR", help="a folder of ruleset files (or one file)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        bundle = load_ruleset_dir(args.directory, all_kinds())
    except FileNotFoundError as exc:
        print(f"tarif check: {exc}")
        return 2
    except RulesetLoadError as exc:
        for problem in exc.problems:
            print(problem)
        errors = sum(1 for p in exc.problems if p.severity == "error")
        print(f"{errors} error(s), {len(exc.problems) - errors} warning(s)")
        return 1
    for warning in bundle.warnings:
        print(warning)
    print(f"{len(bundle.rulesets)} ruleset(s) OK, {len(bundle.warnings)} warning(s)")
    return 0
