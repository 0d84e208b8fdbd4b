"""Benchmark: event rules through the durable-rules adapter, and a jeopardy scan of many open orders.

1. The adapter alone: N orders, each with one order fact and three line facts,
   posted to one short-lived state per order (sentinel, facts, read, delete).
   Baseline in the same run: the same rule conditions compiled by the rule
   language and evaluated in Python on the same values — the ratio is what
   running them in durable-rules costs.
2. ``FulfilmentService.scan_jeopardy`` over N open orders on the in-memory
   store (projection, facts, engine, alert bookkeeping, audit).

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

from order_management import (  # noqa: E402
    Address,
    Customer,
    FixedClock,
    InMemoryCustomers,
    InMemoryStore,
    OrderService,
    Party,
    RulesetPricer,
    order_rules_from,
)
from order_management.fulfilment import (  # noqa: E402
    FULFILMENT_KINDS,
    DurableRulesAdapter,
    EventType,
    FulfilmentEvent,
    FulfilmentService,
    InMemoryFulfilmentRecords,
    event_rules_from,
    process_catalogue_from,
)
from order_management.fulfilment.event_rules import FACT_SCHEMAS, FactType, encode_fact  # noqa: E402
from rule_language import compile_expression, load_ruleset_dir, load_rulesets  # noqa: E402
from tests.order_management.fakes import StockPromiser  # noqa: E402
from tests.order_management.fulfilment.samples import fulfilment_sources  # noqa: E402


def _values(n: int) -> tuple[dict, list[dict]]:
    order = {"order.total": Decimal(100 + n % 9000), "order.channel": "web" if n % 5 else "marketplace",
             "customer.segment": "gold" if n % 3 else "standard"}
    lines = [{**order, "line.line_id": str(i), "line.days_late": (n + i) % 9} for i in range(3)]
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
    order_bundle = load_ruleset_dir(ROOT / "rulesets" / "order", _kinds())
    pricing = load_ruleset_dir(ROOT / "rulesets" / "pricing", _kinds())
    flow = load_rulesets(fulfilment_sources(), FULFILMENT_KINDS)
    store = InMemoryStore()
    clock = FixedClock(dt.datetime(2025, 7, 15, 9, 30, tzinfo=dt.UTC))
    party = Party(name="Vélo Lyon", address=Address(country="FR", city="Lyon"))
    orders = OrderService(order_rules_from(order_bundle), InMemoryCustomers([Customer(
        id="C-1", name="Vélo Lyon", segment="gold", ship_to=party)]), store.unit_of_work, clock,
        RulesetPricer(pricing), StockPromiser({"HELMET-AERO": 10**9}))
    records = InMemoryFulfilmentRecords()
    service = FulfilmentService(orders, records, process_catalogue_from(flow),
                                DurableRulesAdapter(event_rules_from(flow)))
    order_id = service.capture({"customer_id": "C-1", "currency": "EUR", "lines": [
        {"line_id": str(i), "sku": "HELMET-AERO", "quantity": "1"} for i in range(1, 4)]}, actor="bench").order.order_id
    service.start(order_id, actor="bench")
    service.handle(FulfilmentEvent(order_id, EventType.STEP_COMPLETED, "1", "schedule"))
    template = records.processes.find(order_id)
    late = clock.now() + dt.timedelta(days=5)
    with store.unit_of_work() as uow:
        record = uow.orders.get(order_id)
        for k in range(1, n):
            clone = f"{order_id}-{k}"
            uow.orders.add(replace(record, order=record.order.model_copy(update={"order_id": clone})))
            tracks = tuple(replace(t, steps=tuple(replace(s, expected_at=late) if s.step_id == "schedule"
                                                  and k % 2 else s for s in t.steps)) for t in template.tracks)
            records.processes.put(replace(template, order_id=clone, tracks=tracks), None)
        uow.commit()
    start = time.perf_counter()
    report = service.scan_jeopardy()
    took = time.perf_counter() - start
    print(f"scan_jeopardy: {report.orders} open orders × 3 lines in {took:.2f} s "
          f"({took / report.orders * 1e6:,.0f} µs/order), {len(report.raised)} alerts raised")


def _kinds():
    from oms_host.kinds import all_kinds

    return all_kinds()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    n = 1000 if parser.parse_args().quick else 5000
    bench_adapter(n)
    bench_scan(n // 2)


if __name__ == "__main__":
    main()
