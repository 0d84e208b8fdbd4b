"""Benchmark: compiled rule-language conditions against hand-written Python.

Evaluates 1,000 compiled conditions over 100,000 inputs (10^8 evaluations by
default) and, in the same run and on the same data, hand-written Python
closures doing exactly the same checks. Prints throughput of both and their
ratio. Target (issue 2): compiled rules at least one third of the hand-written
speed, i.e. ratio >= 0.33.

    python bench/rule_language.py            # the issue's sizes
    python bench/rule_language.py --quick    # 200 conditions x 20,000 inputs
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

# This file is named like the package it measures; keep its folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from rule_language import Schema, compile_expression, enum  # noqa: E402

SEGMENTS = ["gold", "silver", "standard", "new"]
COUNTRIES = ["FR", "DE", "BE", "NL", "IT", "ES", "US", "JP"]
CATEGORIES = ["tools", "garden", "paint", "timber", "electrical"]

SCHEMA = Schema.of({
    "customer.segment": enum(*SEGMENTS),
    "customer.country": "string",
    "line.sku": "string",
    "line.category": "string",
    "line.quantity": "integer",
    "order.total": "money[EUR]",
})

Check = Callable[[dict[str, Any]], Any]


def make_condition(rng: random.Random) -> tuple[str, Check]:
    """One condition as rule text and as the hand-written closure a developer would write."""
    template = rng.randrange(4)
    if template == 0:
        segments = rng.sample(SEGMENTS, 2)
        n = rng.randrange(1, 40)
        text = f"customer.segment in ['{segments[0]}', '{segments[1]}'] and line.quantity >= {n}"
        allowed = frozenset(segments)
        return text, lambda env: env["customer"]["segment"] in allowed and env["line"]["quantity"] >= n
    if template == 1:
        low = Decimal(rng.randrange(0, 500))
        high = low + Decimal(rng.randrange(50, 2000))
        country = rng.choice(COUNTRIES)
        text = f"order.total between {low}.00 EUR and {high}.00 EUR and customer.country = '{country}'"
        return text, lambda env: (low <= env["order"]["total"] <= high
                                  and env["customer"]["country"] == country)
    if template == 2:
        sku = f"SKU{rng.randrange(1000):04d}"
        category = rng.choice(CATEGORIES)
        n = rng.randrange(1, 30)
        text = f"line.sku = '{sku}' or (line.category = '{category}' and line.quantity > {n})"
        return text, lambda env: env["line"]["sku"] == sku or (
            env["line"]["category"] == category and env["line"]["quantity"] > n)
    a, b = rng.randrange(1, 20), rng.randrange(10, 60)
    text = f"if customer.segment = 'gold' then line.quantity >= {a} else line.quantity >= {b}"
    return text, lambda env: (env["line"]["quantity"] >= a if env["customer"]["segment"] == "gold"
                              else env["line"]["quantity"] >= b)


def make_input(rng: random.Random) -> dict[str, Any]:
    return {
        "customer": {"segment": rng.choice(SEGMENTS), "country": rng.choice(COUNTRIES)},
        "line": {"sku": f"SKU{rng.randrange(1000):04d}", "category": rng.choice(CATEGORIES),
                 "quantity": rng.randrange(1, 80)},
        "order": {"total": Decimal(rng.randrange(0, 300_000)) / 100},
    }


def run(checks: list[Check], inputs: list[dict[str, Any]]) -> tuple[float, list[int]]:
    """Seconds to evaluate every check on every input, and how many matched per check."""
    matches = []
    start = time.perf_counter()
    for check in checks:
        matches.append(sum(1 for env in inputs if check(env)))
    return time.perf_counter() - start, matches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conditions", type=int, default=1_000)
    parser.add_argument("--inputs", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="200 conditions x 20,000 inputs")
    args = parser.parse_args(argv)
    if args.quick:
        args.conditions, args.inputs = 200, 20_000
    rng = random.Random(20261125)
    pairs = [make_condition(rng) for _ in range(args.conditions)]
    inputs = [make_input(rng) for _ in range(args.inputs)]

    start = time.perf_counter()
    compiled = [compile_expression(text, SCHEMA).fn for text, _ in pairs]
    compile_seconds = time.perf_counter() - start
    hand_written = [check for _, check in pairs]

    evaluations = args.conditions * args.inputs
    # interleave the two runs in halves so drift on a shared machine hits both alike
    half = len(pairs) // 2 or 1
    base_a, base_matches_a = run(hand_written[:half], inputs)
    ours_a, ours_matches_a = run(compiled[:half], inputs)
    ours_b, ours_matches_b = run(compiled[half:], inputs)
    base_b, base_matches_b = run(hand_written[half:], inputs)
    if ours_matches_a + ours_matches_b != base_matches_a + base_matches_b:
        print("MISMATCH: compiled rules and hand-written checks disagree")
        return 1
    ours, base = ours_a + ours_b, base_a + base_b
    ratio = base / ours
    print(f"rule_language: {args.conditions:,} conditions x {args.inputs:,} inputs "
          f"= {evaluations:,} evaluations (results identical)")
    print(f"  compile      : {compile_seconds * 1000 / args.conditions:.2f} ms per condition")
    print(f"  compiled     : {evaluations / ours:,.0f} evaluations/s ({ours:.1f} s)")
    print(f"  hand-written : {evaluations / base:,.0f} evaluations/s ({base:.1f} s)  [baseline, same run]")
    print(f"  ratio        : {ratio:.2f} of hand-written speed (target >= 0.33): "
          f"{'PASS' if ratio >= 1 / 3 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
