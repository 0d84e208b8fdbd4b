"""Benchmark: capture → configure → price → promise → reserve, in memory, 10-line orders.

Captures N orders through the message bus (``CaptureOrder`` commands over the
in-memory unit of work) with the sample rulesets (order rules, the trail-bike
product model, pricing) and the real promising package, then prints
orders/second and p50/p95 latency per order. Two same-run baselines: the
capture handler called directly with a unit of work (the bus's overhead is the
difference), and the pricing engine alone on the same orders (what the order
layer costs on top of the most expensive core).

    python bench/orders.py            # 2,000 orders
    python bench/orders.py --quick    # 200 orders
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

# bench/ holds scripts named like the packages they measure; keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from oms_host.kinds import all_kinds  # noqa: E402
from order_management import (  # noqa: E402
    Address,
    Customer,
    FixedClock,
    InMemoryCustomers,
    InMemoryStore,
    MessageBus,
    OrderInput,
    Party,
    dependencies_from,
    to_pricing_order,
)
from order_management import commands as cmd  # noqa: E402
from order_management import promising as pr  # noqa: E402
from order_management.handlers import prepare  # noqa: E402
from order_management.handlers.capture import capture_order, new_order  # noqa: E402
from pricing_engine import price_order  # noqa: E402
from rule_language import load_ruleset_dir  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOW = dt.datetime(2025, 7, 15, 9, 0, tzinfo=dt.UTC)
SKUS = ["HELMET-AERO", "HELMET-KIDS", "LOCK-U", "BOTTLE", "BOTTLE-STEEL", "ENERGY-BAR", "REPAIR-KIT", "BIKE-CITY"]
SOURCING = """\
kind: sourcing
name: bench-sourcing
version: 1
source: benchmark data
locations: [{id: WH-LYON}, {id: WH-KOELN}]
lanes:
  - {from: WH-LYON, to: "*", transit_days: 2}
  - {from: WH-KOELN, to: "*", transit_days: 3}
rules:
  - {name: ranked, strategy: ranked, locations: [WH-LYON, WH-KOELN], split: {policy: split}}
"""


def customers(count: int) -> list[Customer]:
    countries = ["FR", "DE", "BE", "NL", "IT"]
    return [Customer(id=f"C-{i:05d}", name=f"Customer {i}", segment=random.Random(i).choice(
        ["standard", "gold", "partner"]), ship_to=Party(name=f"Customer {i}", address=Address(
            country=countries[i % len(countries)]))) for i in range(count)]


def make_order(rng: random.Random, index: int) -> dict:
    lines = [{"line_id": "1", "kind": "configured", "sku": "BIKE-TRAIL", "product_model": "trail-bike",
              "quantity": "1", "options": {"frame_size": rng.choice(["M", "L", "XL"]),
                                           "motor": rng.random() < 0.3}}]
    if lines[0]["options"]["motor"]:
        lines[0]["options"]["battery_wh"] = rng.choice([375, 500, 625, 750])
    for n in range(2, 11):
        lines.append({"line_id": str(n), "sku": rng.choice(SKUS), "quantity": str(rng.randint(1, 4))})
    return {"customer_id": f"C-{index % 300:05d}", "currency": "EUR", "channel": "web", "lines": lines}


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=2_000)
    parser.add_argument("--quick", action="store_true", help="200 orders")
    args = parser.parse_args(argv)
    count = 200 if args.quick else args.orders

    start = time.perf_counter()
    bundle = load_ruleset_dir(ROOT / "rulesets", all_kinds())
    load_seconds = time.perf_counter() - start
    supply = [pr.SupplyPosition(item=sku, location=loc, on_hand=10_000_000)
              for sku in [*SKUS, "BIKE-TRAIL"] for loc in ("WH-LYON", "WH-KOELN")]
    people = InMemoryCustomers(customers(300))
    deps = dataclasses.replace(dependencies_from(bundle, people, FixedClock(NOW)),
                               sourcing=pr.promising_rules_from_yaml(SOURCING))
    bus = MessageBus(InMemoryStore(supply).unit_of_work, deps)
    direct_store = InMemoryStore(supply)
    rng = random.Random(20261125)
    drafts = [OrderInput.model_validate(make_order(rng, i)) for i in range(count)]

    warm = OrderInput.model_validate(make_order(random.Random(1), 999_999))
    bus.handle(cmd.CaptureOrder(actor="bench", order=warm))  # warm: compile the bike model
    capture_times, direct_times = [], []
    for n, draft in enumerate(drafts):  # interleaved, each first every other time: both see the same load
        command = cmd.CaptureOrder(actor="bench", order=draft)
        runs = [(bus.handle, (command,), capture_times),
                (capture_order, (command, direct_store.unit_of_work(), deps), direct_times)]
        for run, arguments, times in runs if n % 2 else reversed(runs):
            t0 = time.perf_counter()
            run(*arguments)
            times.append(time.perf_counter() - t0)

    # baseline, same process and orders: the pricing engine alone
    pricing_times = []
    for draft in drafts:
        prepared = prepare(new_order(draft, "BENCH"), deps, NOW.date())  # validated, configured: not timed
        priced_input = to_pricing_order(prepared.order, prepared.customer)
        t0 = time.perf_counter()
        price_order(priced_input, bundle, NOW.date())
        pricing_times.append(time.perf_counter() - t0)

    total, base = sum(capture_times), sum(pricing_times)
    print(f"orders: {count:,} orders of 10 lines (1 configured bike + 9 SKUs), in-memory store")
    print(f"  ruleset load : {load_seconds:.2f} s")
    print(f"  capture      : {count / total:,.0f} orders/s, p50 {percentile(capture_times, .5) * 1000:.1f} ms, "
          f"p95 {percentile(capture_times, .95) * 1000:.1f} ms per order")
    direct = sum(direct_times)
    print(f"  handler only : {count / direct:,.0f} orders/s, p95 {percentile(direct_times, .95) * 1000:.1f} ms "
          "[baseline, same run: capture_order called directly]")
    paired = statistics.median(b - d for b, d in zip(capture_times, direct_times, strict=True))
    print(f"  bus overhead : median {paired * 1e6:+.0f} µs per order (bus − direct, same order, same moment); "
          f"medians {statistics.median(capture_times) / statistics.median(direct_times):.3f}x")
    print(f"  pricing only : {count / base:,.0f} orders/s, p95 {percentile(pricing_times, .95) * 1000:.1f} ms "
          "[baseline, same run]")
    print(f"  ratio        : full capture takes {total / base:.2f}x the time of pricing alone")
    print(f"  median/order : capture {statistics.median(capture_times) * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
