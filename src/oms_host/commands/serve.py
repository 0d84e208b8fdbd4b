"""``tarif serve``: run the host app (API + order-desk UI); prints the address and the demo credentials."""

from __future__ import annotations

import argparse
import dataclasses
import threading

from ._options import add_database_option, add_rulesets_option


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser("serve", help="run the OMS host app (web UI and JSON API)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000)
    add_database_option(parser)
    add_rulesets_option(parser)
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--secure-cookies", action="store_true",
                        help="mark the session and CSRF cookies Secure: for a server behind TLS (same as "
                             "TARIF_SECURE_COOKIES=1)")
    parser.add_argument("--maintenance-minutes", type=float, default=10, metavar="N",
                        help="every N minutes: release orphaned reservations and scan for jeopardy (0: never)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from oms_host.api import create_app
    from oms_host.api.security import SecuritySettings
    from oms_host.auth import Users
    from oms_host.demo import ensure_demo_users
    from oms_host.host import open_host

    host = open_host(args.database, args.rulesets)
    orphans = host.release_orphaned_reservations()
    if orphans:
        print(f"released {len(orphans)} reservation(s) whose order was never saved: {', '.join(orphans[:10])}")
    credentials = ensure_demo_users(Users(host.db))
    security = SecuritySettings.from_env()
    if args.secure_cookies:
        security = dataclasses.replace(security, secure_cookies=True)
    app = create_app(host, security=security)
    url = f"http://{args.host}:{args.port}/"
    print(f"Tarif OMS on {url}  (API: {url}api, OpenAPI: {url}docs) — {host.db!r}")
    print("Log in with:")
    for username, password, role in credentials:
        print(f"  {username:<10} {password:<15} {role.value}")
    if security.secure_cookies:
        print("Cookies are Secure: the browser sends them only over HTTPS (put the server behind TLS).")
    print("Stop with Ctrl-C.", flush=True)
    stop = threading.Event()
    if args.maintenance_minutes > 0:
        threading.Thread(target=_maintain, args=(host, args.maintenance_minutes * 60, stop), daemon=True,
                         name="tarif-maintenance").start()
    try:
        uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    finally:
        stop.set()
    return 0


def _maintain(host: object, every: float, stop: threading.Event) -> None:
    """Run ``host.maintain()`` every ``every`` seconds until ``stop``; a failure is printed, not fatal."""
    while not stop.wait(every):
        try:
            done = host.maintain()  # type: ignore[attr-defined]
        except Exception as exc:  # the server must keep serving; the next round retries
            print(f"tarif serve: maintenance failed: {type(exc).__name__}: {exc}", flush=True)
            continue
        if any(done.values()):
            print("tarif serve: maintenance: " + ", ".join(f"{k} {v}" for k, v in done.items()), flush=True)
