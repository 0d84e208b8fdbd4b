"""``tarif demo``: seed the database with demo customers, stock, users and months of orders (deterministic)."""

from __future__ import annotations

import argparse
import datetime as dt
import time

from ._options import add_database_option, add_rulesets_option


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("demo", help="seed demo customers and orders over several months")
    add_database_option(parser)
    add_rulesets_option(parser)
    parser.add_argument("--customers", type=int, default=300)
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--until", metavar="YYYY-MM-DD", help="last day of orders (default: today, UTC)")
    parser.add_argument("--reset", action="store_true", help="delete existing orders and customers first")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from oms_host.auth import Users
    from oms_host.demo import ensure_demo_users, seed_demo
    from oms_host.host import open_host

    until = dt.date.fromisoformat(args.until) if args.until else None
    host = open_host(args.database, args.rulesets)
    started = time.perf_counter()
    try:
        ensure_demo_users(Users(host.db))
        report = seed_demo(host, customers=args.customers, orders_count=args.orders, months=args.months,
                           seed=args.seed, until=until, reset=args.reset)
    finally:
        host.close()
    print(f"tarif demo: {report.summary()} in {time.perf_counter() - started:.1f} s — {host.db!r}")
    return 0
