"""Benchmark: promising alone — plan, promise + reserve, and contention — on the sample rules.

Three measurements on ``rulesets/order/sourcing.yaml`` and an in-memory store
holding 200 SKUs at the three sample warehouses (random stock, receipts and a
quarter of it already reserved):

1. ``plan_promise`` (the pure core) for 10-line orders: plans/second and p95
   (best of three runs per order);
2. ``promise`` (snapshot → plan → compare-and-set reserve) for 10-line orders,
   one thread: orders/second and p50/p95 latency (single runs: on a shared
   machine the p95 mostly measures the neighbours);
3. contention: 8 threads, 1,000 single-line orders for the same 100 units of
   one SKU; wall time, compare-and-set retries, and the check that exactly
   100 units were reserved.

The same-run baseline for (1) and (2) is building the request alone
(pydantic validation of a 10-line DemandRequest), the cost every caller pays
anyway; the ratio says how many validations one plan costs.

    python bench/orders_promising.py            # 2,000 orders
    python bench/orders_promising.py --quick    # 200 orders
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import threading
import time
from pathlib import Path

# bench/ holds scripts named like the packages they measure; keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from order_management.promising import (  # noqa: E402
    DemandLine,
    DemandRequest,
    InMemoryReservationStore,
    Receipt,
    ShipTo,
    SupplyPosition,
    plan_promise,
    promise,
    promising_rules_from_yaml,
)

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 25)
LOCATIONS = ("DE-KS", "FR-LY", "NL-VE")
COUNTRIES = ("DE", "DE", "AT", "FR", "BE", "NL", "US", "IT")


def make_store(rng: random.Random, skus: list[str]) -> InMemoryReservationStore:
    positions = []
    for sku in skus:
        for loc in LOCATIONS:
            if rng.random() < 0.2:
                continue
            receipts = tuple(Receipt(id=f"PO-{sku}-{loc}-{i}", quantity=rng.randrange(10, 200),
                                     expected_on=AS_OF + dt.timedelta(days=rng.randrange(1, 50)))
                             for i in range(rng.randrange(0, 3)))
            positions.append(SupplyPosition(item=sku, location=loc, on_hand=rng.randrange(0, 300),
                                            safety_stock=rng.randrange(0, 10), receipts=receipts,
                                            lead_time_days=rng.randrange(5, 40)))
    return InMemoryReservationStore(positions)


def make_request(rng: random.Random, skus: list[str], index: int, lines: int = 10) -> DemandRequest:
    chosen = rng.sample(skus, lines)
    return DemandRequest(
        reference=f"SO-{index}", ship_to=ShipTo(country=rng.choice(COUNTRIES)),
        customer_segment=rng.choice(["gold", "silver", "standard", "standard"]),
        channel=rng.choice(["web", "web", "store", "marketplace"]),
        lines=tuple(DemandLine(line_id=str(n), item=sku, quantity=rng.randrange(1, 12),
                               requested_on=None if rng.random() < 0.6
                               else AS_OF + dt.timedelta(days=rng.randrange(2, 30)))
                    for n, sku in enumerate(chosen)))


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--orders", type=int, default=None)
    args = parser.parse_args()
    count = args.orders or (200 if args.quick else 2_000)
    rng = random.Random(20261125)
    rules = promising_rules_from_yaml((ROOT / "rulesets/order/sourcing.yaml").read_text(encoding="utf-8"))
    skus = [f"SKU-{i:03d}" for i in range(200)]
    store = make_store(rng, skus)
    for i in range(count // 4):  # a quarter of the run already reserved
        promise(store, make_request(rng, skus, -i - 1), rules, as_of=AS_OF, reservation_id=f"pre-{i}")

    # baseline: validating the 10-line requests
    raw = [make_request(rng, skus, i).model_dump() for i in range(count)]
    start = time.perf_counter()
    requests = [DemandRequest.model_validate(r) for r in raw]
    validate = (time.perf_counter() - start) / count

    # (1) the pure core: best of 3 per order (it is pure), so a busy shared machine shows less
    snapshots = [store.snapshot(r.items) for r in requests]
    plan_times = []
    for request, snapshot in zip(requests, snapshots, strict=True):
        best = float("inf")
        for _ in range(3):
            t0 = time.perf_counter()
            plan_promise(request, snapshot, rules, AS_OF)
            best = min(best, time.perf_counter() - t0)
        plan_times.append(best)
    plan_mean = statistics.fmean(plan_times)

    # (2) promise + reserve, one thread
    times = []
    for index, request in enumerate(requests):
        t0 = time.perf_counter()
        promise(store, request, rules, as_of=AS_OF, reservation_id=f"R-{index}")
        times.append(time.perf_counter() - t0)
    total = sum(times)

    # (3) contention on one SKU
    hot = InMemoryReservationStore([SupplyPosition(item="HOT", location="DE-KS", on_hand=100)])
    attempts: list[int] = []
    shares = [[(t, i) for i in range(t, 1_000, 8)] for t in range(8)]
    barrier = threading.Barrier(8)

    def worker(share: list[tuple[int, int]]) -> None:
        barrier.wait()
        for _, i in share:
            request = DemandRequest(reference=f"H-{i}", ship_to=ShipTo(country="DE"),
                                    lines=(DemandLine(line_id="1", item="HOT", quantity=1),))
            attempts.append(promise(hot, request, rules, as_of=AS_OF, reservation_id=f"H-{i}").attempts)

    threads = [threading.Thread(target=worker, args=(s,)) for s in shares]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    contention = time.perf_counter() - t0

    print(f"promising benchmark: {count} orders x 10 lines, 200 SKUs x 3 warehouses, sample sourcing rules")
    print(f"  baseline  validate DemandRequest   {validate * 1e6:8.0f} us/order")
    print(f"  plan      plan_promise (pure)      {plan_mean * 1e6:8.0f} us/order  p95 {p95(plan_times) * 1e6:6.0f} us"
          f"  ({1 / plan_mean:,.0f} orders/s, {plan_mean / validate:.1f}x validation)")
    print(f"  promise   snapshot+plan+reserve    {total / count * 1e6:8.0f} us/order  "
          f"p50 {statistics.median(times) * 1e6:6.0f} us  p95 {p95(times) * 1e6:6.0f} us  "
          f"({count / total:,.0f} orders/s)")
    retries = sum(a - 1 for a in attempts)
    print(f"  contention 8 threads x 1,000 orders on 100 units: {contention * 1e3:.0f} ms, "
          f"{retries} compare-and-set retries (max {max(attempts)} attempts), "
          f"reserved {hot.reserved(('HOT', 'DE-KS'))} of 100")
    if hot.reserved(("HOT", "DE-KS")) != 100:
        print("  FAILED: the contention run did not reserve exactly 100 units")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
