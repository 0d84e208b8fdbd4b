"""Load test of the host app: N concurrent clients capture orders over HTTP on PostgreSQL.

The bench creates a fresh PostgreSQL database, seeds customers, stock and an
API token, starts the app with uvicorn on 127.0.0.1 in a child process, and
runs N client threads that each POST orders to ``/api/orders`` for a bounded
time. One item is scarce on purpose (the U-locks sell out during the run), so
the reservation ledger's compare-and-set is exercised under contention. At the end it prints orders per
second, latency percentiles, the error count and the oversold units (units
committed beyond supply, counted in the reservation ledger), stops the server and drops
the database. Target (issue 7): zero errors, zero oversold units, p95 under
200 ms at 8 clients.

    python bench/http.py                           # 8 clients, 60 s
    python bench/http.py --clients 4 --seconds 10  # a quick look
    TARIF_BENCH_POSTGRES_URL=postgresql+psycopg://me@127.0.0.1/postgres python bench/http.py
"""

from __future__ import annotations

import sys
from pathlib import Path

# This file is named like the standard library's `http`; keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ADMIN_URL = os.environ.get("TARIF_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SKUS = [("HELMET-AERO", 1, 3), ("HELMET-KIDS", 1, 3), ("LOCK-U", 1, 3), ("BOTTLE", 4, 12), ("REPAIR-KIT", 2, 4)]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _seed(url: str, customers: int, scarce: int) -> str:
    from oms_host.auth import Role, Users
    from oms_host.host import open_host
    from order_management import Address, Customer, Party
    from order_management.promising import SupplyPosition

    host = open_host(url, ROOT / "rulesets")
    people = []
    for n in range(customers):
        country = ("FR", "DE", "AT")[n % 3]
        party = Party(name=f"Bench customer {n}", address=Address(country=country, city="Bench"))
        people.append(Customer(id=f"B-{n:04d}", name=party.name, segment=("standard", "gold")[n % 2],
                               bill_to=party, ship_to=party))
    host.customers.put_many(people)
    host.put_supply([SupplyPosition(item=sku, location=loc, on_hand=scarce if sku.startswith("LOCK") else 1_000_000)
                     for sku, _, _ in SKUS for loc in ("DE-KS", "FR-LY", "NL-VE")])
    token = Users(host.db).issue_token("bench", Role.ORDER_DESK, host.clock.now())
    host.close()
    return token


def _client(base: str, token: str, customers: int, until: float, seed: int, out: dict) -> None:
    rng = random.Random(seed)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
        while time.monotonic() < until:
            picked = rng.sample(SKUS, k=rng.randint(1, 3))
            draft = {"customer_id": f"B-{rng.randrange(customers):04d}", "currency": "EUR", "channel": "web",
                     "lines": [{"line_id": str(i + 1), "sku": sku, "quantity": str(rng.randint(low, high))}
                               for i, (sku, low, high) in enumerate(picked)]}
            started = time.perf_counter()
            try:
                response = client.post("/api/orders", json=draft)
                status = response.status_code
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            latencies.append(time.perf_counter() - started)
            if status != 201:
                errors[str(status)] = errors.get(str(status), 0) + 1
    out.update(latencies=latencies, errors=errors)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--scarce", type=int, default=100, help="U-locks on hand per warehouse (they sell out)")
    parser.add_argument("--server-workers", type=int, default=2, help="uvicorn worker processes")
    args = parser.parse_args()

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"tarif_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"bench/http.py: PostgreSQL is not reachable at {ADMIN_URL} ({type(exc.orig).__name__}); "
              "start it or set TARIF_BENCH_POSTGRES_URL")
        return 2
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    server = None
    try:
        token = _seed(url, args.customers, args.scarce)
        port = _free_port()
        env = {**os.environ, "TARIF_DATABASE_URL": url, "TARIF_RULESETS": str(ROOT / "rulesets")}
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "oms_host.api.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(args.server_workers), "--log-level", "warning"],
            cwd=ROOT, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base + "/openapi.json", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                print("bench/http.py: the server did not start")
                return 1
            time.sleep(0.1)
        print(f"{args.clients} clients capture orders for {args.seconds:g} s against {base} "
              f"(PostgreSQL, {args.server_workers} server process(es), {args.scarce} U-locks per warehouse)")
        until = time.monotonic() + args.seconds
        results = [{} for _ in range(args.clients)]
        threads = [threading.Thread(target=_client, args=(base, token, args.customers, until, n, results[n]))
                   for n in range(args.clients)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        if server is not None and server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
    try:
        latencies = sorted(x for r in results for x in r.get("latencies", []))
        errors: dict[str, int] = {}
        for r in results:
            for k, v in r.get("errors", {}).items():
                errors[k] = errors.get(k, 0) + v
        from oms_host.storage import Database, SqlReservationStore
        from oms_host.storage.schema import orders

        db = Database(url)
        oversold = SqlReservationStore(db).oversold()
        with db.read() as connection:
            stored = connection.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
            backordered = connection.execute(sa.select(sa.func.count()).select_from(orders).where(
                orders.c.backordered.is_(True))).scalar_one()
        db.dispose()
        ok = len(latencies) - sum(errors.values())

        def pct(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0

        print(f"orders captured : {ok} in {elapsed:.1f} s = {ok / elapsed:.1f} orders/s "
              f"({stored} stored, {backordered} with backordered lines)")
        print(f"latency         : p50 {pct(0.50):.0f} ms, p95 {pct(0.95):.0f} ms, p99 {pct(0.99):.0f} ms, "
              f"mean {statistics.fmean(latencies) * 1000 if latencies else 0:.0f} ms")
        print(f"errors          : {sum(errors.values())} {errors if errors else ''}")
        print(f"oversold units  : {oversold}")
        target = not errors and oversold == 0 and (args.clients != 8 or pct(0.95) < 200)
        print("target (0 errors, 0 oversold, p95 < 200 ms at 8 clients):", "met" if target else "NOT met")
        return 0 if not errors and oversold == 0 else 1
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
