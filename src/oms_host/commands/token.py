"""``tarif token NAME --role ROLE``: issue an API token for a system that imports or reads orders.

The token is printed once; only its SHA-256 hash is stored. Send it as
``Authorization: Bearer <token>``. ``--revoke TOKEN`` withdraws one.
"""

from __future__ import annotations

import argparse

from ._options import add_database_option, add_role_option


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("token", help="issue (or revoke) an API token for system-to-system calls")
    parser.add_argument("name", metavar="NAME", help="the calling system, as order histories will name it")
    add_role_option(parser, default="order_desk")
    parser.add_argument("--revoke", metavar="TOKEN", help="revoke this token instead of issuing one")
    add_database_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import datetime as dt

    from oms_host.auth import Role, Users
    from oms_host.storage import Database

    db = Database(args.database)
    db.migrate()
    users = Users(db)
    try:
        if args.revoke:
            users.revoke_token(args.revoke)
            print(f"revoked the token of {args.name}")
        else:
            token = users.issue_token(args.name, Role(args.role), dt.datetime.now(dt.UTC))
            print(token)
    finally:
        db.dispose()
    return 0
