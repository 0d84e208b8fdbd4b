"""Benchmark: event rules through the durable-rules adapter, and a jeopardy scan of many open orders.

1. The adapter alone: N orders, each with one order fact and three line facts,
   posted to one short-lived state per order (sentinel, facts, read, delete).
   Baseline in the same run: the same rule conditions compiled by the rule
   language and evaluated in Python on the same values — the ratio is what
   running them in durable-rules costs.
2. The ``ScanJeopardy`` command through the bus over N open orders on the
   in-memory store (projection, facts, engine, alert bookkeeping, audit; one
   unit of work per order).

    python bench/fulfilment.py            # 5,000 orders
    python bench/fulfilment.py --quick    # 1,000 orders
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from oms_host.kinds import all_kinds  # noqa: E402
from order_management import (  # noqa: E402
    Address,
    Customer,
    LineInput,
    OrderInput,
    Party,
    bootstrap_in_memory,
)
from order_management import commands as cmd  # noqa: E402
from order_management.fulfilment import (  # noqa: E402
    FULFILMENT_KINDS,
    DurableRulesAdapter,
    EventType,
    event_rules_from,
    process_catalogue_from,
)
from order_management.fulfilment.event_rules import FACT_SCHEMAS, FactType, encode_fact  # noqa: E402
from order_management.promising import SupplyPosition  # noqa: E402
from rule_language import compile_expression, load_ruleset_dir, load_rulesets  # noqa: E402
from tests.order_management.fulfilment.samples import fulfilment_sources  # noqa: E402


def _values(n: int) -> tuple[dict, list[dict]]:
    order = {"order.total": Decimal(100 + n % 9000), "order.channel": "web" if n % 5 else "marketplace",
             "customer.segment": "gold" if n % 3 else "standard"}
    lines = [{**order, "line.id": str(i), "line.days_late": (n + i) % 9} for i in range(3)]
    return order, lines


def bench_adapter(n: int) -> None:
    bundle = load_rulesets(fulfilment_sources(), FULFILMENT_KINDS)
    rulesets = event_rules_from(bundle)
    adapter = DurableRulesAdapter(rulesets)
    inputs = [_values(k) for k in range(n)]
    batches = [(f"SO-{k}", [encode_fact(FactType.ORDER, o, "EUR"),
                            *(encode_fact(FactType.LINE, v, "EUR") for v in lines)])
               for k, (o, lines) in enumerate(inputs)]
    latencies = []
    fired = 0
    start = time.perf_counter()
    for order_id, facts in batches:
        t0 = time.perf_counter()
        fired += len(adapter.evaluate(order_id, facts).firings)
        latencies.append(time.perf_counter() - t0)
    engine = time.perf_counter() - start

    compiled = [(r, compile_expression(r.text, FACT_SCHEMAS[r.fact_type]))
                for rs in rulesets for r in rs.rules if r.fact_type != FactType.STOCK]
    start = time.perf_counter()
    fired_py = 0
    for order, lines in inputs:
        envs = {FactType.ORDER: [_env(order)], FactType.LINE: [_env(v) for v in lines]}
        for rule, expression in compiled:
            fired_py += sum(1 for env in envs[rule.fact_type] if expression.evaluate(env))
    python = time.perf_counter() - start
    p95 = statistics.quantiles(latencies, n=20)[18] * 1e6
    print(f"adapter: {n} orders × 4 facts: {n / engine:,.0f} orders/s, p95 {p95:,.0f} µs/order, "
          f"{fired} firings; live states after: {adapter.live_states}")
    print(f"  baseline (rule language in Python, same rules and values): {n / python:,.0f} orders/s, "
          f"{fired_py} firings; engine/baseline time ratio {engine / python:.1f}×")
    if fired != fired_py:
        raise SystemExit(f"the engine and the baseline disagree: {fired} vs {fired_py} firings")


def _env(values: dict) -> dict:
    env: dict = {}
    for dotted, value in values.items():
        head, tail = dotted.split(".", 1)
        env.setdefault(head, {})[tail] = value
    env.setdefault("order", {}).setdefault("currency", "EUR")
    return env


def bench_scan(n: int) -> None:
    flow = load_rulesets(fulfilment_sources(), FULFILMENT_KINDS)
    party = Party(name="Vélo Lyon", address=Address(country="FR", city="Lyon"))
    bus = bootstrap_in_memory(load_ruleset_dir(ROOT / "rulesets", all_kinds()),
                              now=dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC),
                              customers=[Customer(id="C-1", name="Vélo Lyon", segment="gold", ship_to=party)],
                              supply=[SupplyPosition(item="HELMET-AERO", location="FR-LY", on_hand=10**9)])
    bus.deps = replace(bus.deps, processes=process_catalogue_from(flow),
                       event_rules=DurableRulesAdapter(event_rules_from(flow)))
    order_id = bus.handle(cmd.CaptureOrder(actor="bench", order=OrderInput(
        customer_id="C-1", currency="EUR",
        lines=[LineInput(line_id=str(i), sku="HELMET-AERO", quantity=Decimal(1)) for i in range(1, 4)]))
    ).order.order_id
    bus.handle(cmd.StartFulfilment(actor="bench", order_id=order_id))
    bus.handle(cmd.RecordFulfilmentEvent(actor="bench", order_id=order_id, type=EventType.STEP_COMPLETED,
                                         line_id="1", step="schedule"))
    late = bus.deps.clock.now() + dt.timedelta(days=5)
    with bus.unit_of_work() as uow:
        record = uow.orders.get(order_id)
        template = uow.processes.find(order_id)
        assert template is not None
        for k in range(1, n):
            clone = f"{order_id}-{k}"
            uow.orders.add(replace(record, order=record.order.model_copy(update={"order_id": clone})))
            tracks = tuple(replace(t, steps=tuple(replace(s, expected_at=late) if s.step_id == "schedule"
                                                  and k % 2 else s for s in t.steps)) for t in template.tracks)
            uow.processes.put(replace(template, order_id=clone, tracks=tracks), None)
        uow.commit()
    start = time.perf_counter()
    report = bus.handle(cmd.ScanJeopardy(actor="bench"))
    took = time.perf_counter() - start
    print(f"scan_jeopardy: {report.orders} open orders × 3 lines in {took:.2f} s "
          f"({took / report.orders * 1e6:,.0f} µs/order), {len(report.raised)} alerts raised")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 1000 if parser.parse_args().quick else 5000
    bench_adapter(n)
    bench_scan(n // 2)


if __name__ == "__main__":
    main()
