"""Configurator benchmark: latency per choice on the real Renault models.

For each instance (BR4CP small, medium, big; CLib Megane) it replays fitting
configurations as sequences of user choices — in the sales CSV's column order,
in a shuffled order, and with the last third of the choices undone and redone —
each from a cold session, computing the valid domains of every variable after
every choice. It prints, per instance and backend, the one-off load (import)
and compile time and the median / p95 / max latency per choice, plus the
ratio against the plain python-constraint backend measured in the same run.

Megane has no sales history: its sequences are random valid configurations
drawn with a fixed seed (a random walk over the valid domains).

The python-constraint baseline needs seconds to minutes per step on these
models (it proves each hidden value impossible by exhaustive search), so it
is measured on the first ``--baseline-steps`` choices of the first sequence
only, each step in a child process killed after ``--baseline-timeout``
seconds; a step that hits the limit is reported as ">limit" and the ratio as a
lower bound.

    .venv/bin/python bench/configurator.py                       # all instances
    .venv/bin/python bench/configurator.py --instances small,medium --rows 10
    .venv/bin/python bench/configurator.py --backends sat,bdd --bdd-cache /tmp/bdd
"""

from __future__ import annotations

import argparse
import csv
import multiprocessing as mp
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from configurator import (  # noqa: E402
    Configurator,
    ProductModel,
    UnknownValueError,
    import_clib,
    import_xcsp,
)
from configurator.backends.bdd import BddBackend  # noqa: E402

DATA = REPO.parent / "shared" / "benchmarks" / "configurator"
INSTANCES = ("small", "medium", "big", "megane")

Choice = tuple[str, Any]


def load_instance(name: str) -> ProductModel:
    """Read and import one instance (the only file reading besides the sales CSV)."""
    if name == "megane":
        folder = DATA / "renault_megane_clib"
        rules = sorted((folder / "rules").glob("*.pm"))
        return import_clib((folder / "domains.txt").read_text(),
                           [(p.stem, p.read_text()) for p in rules])
    path = DATA / "renault_br4cp" / f"renault_{name}.xml"
    return import_xcsp(path.read_text(), source=path.name)


def sales_rows(name: str) -> Iterator[dict[str, str]]:
    with (DATA / "renault_br4cp" / f"renault_{name}_sales.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            row.pop("vfreq", None)
            row.pop("nombre", None)
            yield row


def fitting_configurations(name: str, model: ProductModel, count: int, rng: random.Random
                           ) -> list[list[Choice]]:
    """``count`` fitting configurations as choice lists in the CSV's column order."""
    checker = Configurator(model)
    if name == "megane":
        out = []
        for _ in range(count):
            session = checker.session()
            names = [v.name for v in model.variables]
            for var in names:
                session.choose(var, rng.choice(session.valid_values(var)))
            out.append(list(session.choices.items()))
        return out
    fits: list[list[Choice]] = []
    for row in sales_rows(name):
        try:
            parsed = [(n, model.variable(n).parse(t)) for n, t in row.items()]
        except UnknownValueError:
            continue
        if checker.validate(dict(parsed)).valid:
            fits.append(parsed)
        if len(fits) >= count * 5:
            break
    return rng.sample(fits, min(count, len(fits)))


def sequences(configurations: list[list[Choice]], rng: random.Random
              ) -> list[tuple[str, list[tuple[str, Choice]]]]:
    """Each configuration in CSV order, shuffled, and with its last third undone and redone."""
    out = []
    for config in configurations:
        out.append(("csv order", [("choose", c) for c in config]))
        shuffled = config[:]
        rng.shuffle(shuffled)
        out.append(("shuffled", [("choose", c) for c in shuffled]))
        cut = len(config) * 2 // 3
        tail = config[cut:]
        steps = [("choose", c) for c in config]
        steps += [("unchoose", c) for c in reversed(tail)]
        steps += [("choose", c) for c in tail]
        out.append(("undo/redo", steps))
    return out


def replay(configurator: Configurator, plan: list[tuple[str, list[tuple[str, Choice]]]]
           ) -> list[list[float]]:
    """Seconds per step (choose/unchoose + valid domains), per sequence; cold session each."""
    timings = []
    for _, steps in plan:
        session = configurator.session()
        times = []
        for action, (var, value) in steps:
            start = time.perf_counter()
            if action == "choose":
                session.choose(var, value)
            else:
                session.unchoose(var)
            session.valid_domains()
            times.append(time.perf_counter() - start)
        timings.append(times)
    return timings


def _baseline_worker(name: str, choices: list[Choice], out: Any) -> None:
    """Time python-constraint's valid domains after ``choices`` (the last step only)."""
    model = load_instance(name)
    configurator = Configurator(model, "python-constraint")
    assignment = dict(configurator.to_index(var, value) for var, value in choices)
    start = time.perf_counter()
    configurator.solver.valid_domains(assignment)
    out.put(time.perf_counter() - start)


def baseline(name: str, steps: list[Choice], count: int, limit: float
             ) -> list[float | None]:
    """python-constraint seconds for the first ``count`` steps (None: over ``limit``)."""
    context = mp.get_context("fork")
    results: list[float | None] = []
    for i in range(1, min(count, len(steps)) + 1):
        queue = context.Queue()
        process = context.Process(target=_baseline_worker, args=(name, steps[:i], queue))
        process.start()
        process.join(limit)
        if process.is_alive():
            process.kill()
            process.join()
            results.append(None)
        else:
            results.append(queue.get() if not queue.empty() else None)
    return results


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    start = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - start


def compile_backend(model: ProductModel, backend: str, cache: Path | None
                    ) -> tuple[Configurator, float, str]:
    if backend != "bdd" or cache is None:
        configurator, seconds = timed(lambda: Configurator(model, backend))
        return configurator, seconds, ""
    bdd = BddBackend()
    path = cache / f"{model.name}-{len(model.variables)}-{len(model.constraints)}.bdd"
    if path.exists():
        solver, seconds = timed(lambda: bdd.load(model.indexed, path.read_bytes()))
        return Configurator(model, bdd, solver=solver), seconds, " (from cache)"
    configurator, seconds = timed(lambda: Configurator(model, bdd))
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bdd.dump(configurator.solver))  # type: ignore[arg-type]
    return configurator, seconds, ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", default=",".join(INSTANCES))
    parser.add_argument("--backends", default="sat,bdd",
                        help="fast backends to measure (python-constraint is the baseline)")
    parser.add_argument("--bdd-cache", type=Path, help="keep compiled BDDs in this folder")
    parser.add_argument("--rows", type=int, default=10, help="configurations per instance")
    parser.add_argument("--baseline-steps", type=int, default=1)
    parser.add_argument("--baseline-timeout", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if not DATA.exists():
        print(f"benchmark data not found at {DATA}")
        return 2
    backends = [b for b in args.backends.split(",") if b]
    print(f"configurator benchmark: {args.rows} configurations x 3 orders per instance, "
          f"seed {args.seed}; python-constraint baseline on the first "
          f"{args.baseline_steps} step(s) of the first sequence, {args.baseline_timeout:.0f} s "
          "limit per step")
    header = (f"{'instance':8} {'backend':18} {'load s':>7} {'compile s':>10} {'steps':>6} "
              f"{'median ms':>10} {'p95 ms':>8} {'max ms':>8}  vs python-constraint")
    print(header)
    print("-" * len(header))
    for name in args.instances.split(","):
        rng = random.Random(args.seed)
        model, load_s = timed(lambda n=name: load_instance(n))
        plan = sequences(fitting_configurations(name, model, args.rows, rng), rng)
        first = [c for _, c in plan[0][1]]
        base = baseline(name, first, args.baseline_steps, args.baseline_timeout)
        known = [b for b in base if b is not None]
        shown = ", ".join(f"{b * 1000:.0f}" if b is not None else f">{args.baseline_timeout:.0f}000"
                          for b in base)
        print(f"{name:8} {'python-constraint':18} {load_s:7.2f} {0:10.2f} {len(base):6} "
              f"{'':>10} {'':>8} {'':>8}  per step ms: {shown}")
        for backend in backends:
            configurator, compile_s, note = compile_backend(model, backend, args.bdd_cache)
            timings = replay(configurator, plan)
            flat = [t for seq in timings for t in seq]
            same = timings[0][:len(base)]
            ratio = ""
            if base:
                floor = statistics.median([b if b is not None else args.baseline_timeout
                                           for b in base])
                mine = statistics.median(same)
                bound = ">=" if len(known) < len(base) else ""
                ratio = f"{bound}{floor / mine:,.0f}x faster (same {len(base)} step(s))"
            print(f"{name:8} {backend:18} {load_s:7.2f} {compile_s:10.2f}{note} {len(flat):6} "
                  f"{statistics.median(flat) * 1000:10.2f} {percentile(flat, 0.95) * 1000:8.2f} "
                  f"{max(flat) * 1000:8.1f}  {ratio}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
