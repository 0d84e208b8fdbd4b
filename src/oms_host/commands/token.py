"""``tarif token NAME --role ROLE``: issue an API token for a system that imports or reads orders.

The token is printed once; only its SHA-256 hash is stored. Send it as
``Authorization: Bearer <token>``. ``--revoke TOKEN`` withdraws one: exit 0
when that token of NAME was in force and is now revoked; exit 1, changing
nothing, when no such token is in force (unknown, already revoked, a log-in
session's, or another system's).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import TYPE_CHECKING

from ._options import add_database_option, add_role_option

if TYPE_CHECKING:
    from oms_host.auth import Users


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("token", help="issue (or revoke) an API token for system-to-system calls")
    parser.add_argument("name", metavar="NAME", help="the calling system, as order histories will name it")
    add_role_option(parser, default="order_desk")
    parser.add_argument("--revoke", metavar="TOKEN", help="revoke this token instead of issuing one")
    add_database_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from oms_host.auth import Role, Users
    from oms_host.storage import Database

    db = Database(args.database)
    db.migrate()
    users = Users(db)
    try:
        if args.revoke:
            return _revoke(users, args.revoke, args.name, dt.datetime.now(dt.UTC))
        else:
            token = users.issue_token(args.name, Role(args.role), dt.datetime.now(dt.UTC))
            print(token)
    finally:
        db.dispose()
    return 0


def _revoke(users: Users, token: str, name: str, now: dt.datetime) -> int:
    """Revoke ``token`` if it is an API token of ``name`` in force; else say why not and return 1."""
    holder = users.by_token(token, now)  # the store's revoke does not say whether it found the token
    if holder is None or not holder.via_token:
        print("tarif token: no API token in force matches; nothing revoked (unknown or already revoked)",
              file=sys.stderr)
        return 1
    if holder.username != name:
        print(f"tarif token: that token belongs to {holder.username}, not {name}; nothing revoked",
              file=sys.stderr)
        return 1
    users.revoke_token(token)
    print(f"revoked the token of {name}")
    return 0
