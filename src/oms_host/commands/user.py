"""``tarif user NAME --role ROLE``: add a user (or change one's password and role).

The password is read from the terminal without echo (or ``--password-stdin``
for scripts) and stored as an Argon2id hash. ``--disable`` locks a user out.
"""

from __future__ import annotations

import argparse
import getpass
import sys

from ._options import add_database_option, add_role_option


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("user", help="add a user of the host app or change one (password, role)")
    parser.add_argument("username", metavar="NAME")
    add_role_option(parser, default="read_only")
    parser.add_argument("--display-name", help="how the user is shown (default: NAME)")
    parser.add_argument("--locale", default="en", choices=["en", "fr"])
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--disable", action="store_true", help="lock the user out (keeps their history)")
    add_database_option(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from oms_host.auth import Role, Users
    from oms_host.storage import Database

    db = Database(args.database)
    db.migrate()
    users = Users(db)
    try:
        if args.disable:
            if not users.disable(args.username):
                print(f"tarif user: no user {args.username!r}")
                return 1
            print(f"{args.username} can no longer log in")
            return 0
        if args.password_stdin:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass(f"password for {args.username}: ")
            if password != getpass.getpass("again: "):
                print("tarif user: the passwords differ")
                return 1
        if len(password) < 8:
            print("tarif user: a password needs at least 8 characters")
            return 1
        users.add(args.username, password, Role(args.role), args.display_name, args.locale)
        print(f"{args.username} ({args.role}) can log in")
    finally:
        db.dispose()
    return 0
