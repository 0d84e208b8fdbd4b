"""``tarif test DIR``: run every scenario file and close with ``N passed, M failed``."""

from __future__ import annotations

import argparse

from rule_language import run_scenarios

from ..kinds import all_kinds, all_scenario_runners
from ._rulesets import load_or_report


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("test", help="run every scenario file below DIR")
    parser.add_argument("directory", metavar="DIR", help="a folder of ruleset and scenario files")
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    bundle = load_or_report(args.directory, "test")
    if isinstance(bundle, int):
        return bundle
    outcomes = run_scenarios(bundle, all_kinds(), all_scenario_runners())
    for outcome in outcomes:
        if args.verbose or not outcome.passed:
            print(outcome)
    failed = sum(1 for o in outcomes if not o.passed)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed or not outcomes else 0
