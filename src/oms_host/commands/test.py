"""``tarif test DIR``: run every scenario file and close with ``N passed, M failed``."""

from __future__ import annotations

import argparse

from rule_language import RulesetLoadError, load_ruleset_dir, run_scenarios

from ..kinds import all_kinds, all_scenario_runners


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("test", help="run every scenario file below DIR")
    parser.add_argument("directory", metavar="DIR", help="a folder of ruleset and scenario files")
    parser.add_argument("-v", "--verbose", action="store_true", help="list passing cases too")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    kinds = all_kinds()
    try:
        bundle = load_ruleset_dir(args.directory, kinds)
    except FileNotFoundError as exc:
        print(f"tarif test: {exc}")
        return 2
    except RulesetLoadError as exc:
        for problem in exc.problems:
            print(problem)
        print("the rulesets do not load; fix them first (see `tarif check`)")
        return 1
    outcomes = run_scenarios(bundle, kinds, all_scenario_runners())
    for outcome in outcomes:
        if args.verbose or not outcome.passed:
            print(outcome)
    failed = sum(1 for o in outcomes if not o.passed)
    print(f"{len(outcomes) - failed} passed, {failed} failed")
    return 1 if failed or not outcomes else 0
