"""Options several host commands share, declared once so their wording and choices agree."""

from __future__ import annotations

import argparse

__all__ = ["ROLE_NAMES", "add_database_option", "add_role_option", "add_rulesets_option"]

#: The values of :class:`oms_host.auth.Role`, spelled out so building the parser does not
#: import the storage layer (a test keeps the two equal).
from oms_host.auth import Role

ROLE_NAMES = tuple(role.value for role in Role)


def add_database_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--database", metavar="URL", help="database URL (default: TARIF_DATABASE_URL or "
                                                           "sqlite:///tarif.sqlite3)")


def add_rulesets_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rulesets", metavar="DIR", help="ruleset folder (default: ./rulesets)")


def add_role_option(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument("--role", default=default, choices=ROLE_NAMES)
