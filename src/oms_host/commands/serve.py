"""``tarif serve``: run the host app (API + order-desk UI); prints the address and the demo credentials."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("serve", help="run the OMS host app (web UI and JSON API)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--database", metavar="URL", help="database URL (default: TARIF_DATABASE_URL or "
                                                           "sqlite:///tarif.sqlite3)")
    parser.add_argument("--rulesets", metavar="DIR", help="ruleset folder (default: ./rulesets)")
    parser.add_argument("--log-level", default="warning")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from oms_host.api import create_app
    from oms_host.auth import Users
    from oms_host.demo import ensure_demo_users
    from oms_host.host import open_host

    host = open_host(args.database, args.rulesets)
    orphans = host.release_orphaned_reservations()
    if orphans:
        print(f"released {len(orphans)} reservation(s) whose order was never saved: {', '.join(orphans[:10])}")
    credentials = ensure_demo_users(Users(host.db))
    app = create_app(host)
    url = f"http://{args.host}:{args.port}/"
    print(f"Tarif OMS on {url}  (API: {url}api, OpenAPI: {url}docs) — {host.db!r}")
    print("Log in with:")
    for username, password, role in credentials:
        print(f"  {username:<10} {password:<15} {role.value}")
    print("Stop with Ctrl-C.", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0
