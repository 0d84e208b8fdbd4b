"""``tarif check DIR``: validate every ruleset file; exit 0 when clean, 1 otherwise."""

from __future__ import annotations

import argparse

from ._rulesets import load_or_report


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("check", help="validate every ruleset file below DIR")
    parser.add_argument("directory", metavar="DIR", help="a folder of ruleset files (or one file)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    bundle = load_or_report(args.directory, "check")
    if isinstance(bundle, int):
        return bundle
    for warning in bundle.warnings:
        print(warning)
    print(f"{len(bundle.rulesets)} ruleset(s) OK, {len(bundle.warnings)} warning(s)")
    return 0
