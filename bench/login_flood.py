"""Log-in flood: do bogus log-ins slow down everyone else, or swell the server?

The bench starts the host app in a child process (uvicorn on 127.0.0.1 only,
a temporary SQLite database, the production Argon2 hasher and log-in limits),
then, in the same run:

1. idle: measures ``GET /api/me`` with a valid bearer token, one request after
   another;
2. flood: N bogus log-ins (unknown names and a real name with wrong
   passwords) from several client threads, each from its own loopback address
   (127.0.0.2, 127.0.0.3, …, so per-address throttling meets a spray rather
   than one client) — bounded in count and in time — while the same
   ``GET /api/me`` keeps being measured.

It prints both medians and their ratio (target ≤ 2), the server process's
resident memory (from ``/proc``): its peak growth during the flood and what is
left after it (target ≤ 50 MB), what the log-ins got (401 after a hash, 429
without one) and the load average. Issue 11 measured, before the guard:
90 ms → 2.4 s and 140 → 620 MB for 24 concurrent bogus log-ins.

    python bench/login_flood.py                        # 400 log-ins from 8 clients, at most 40 s
    python bench/login_flood.py --logins 100 --clients 4 --seconds 15
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/http.py is named like the standard library's `http`; keep this folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse  # noqa: E402
import os  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import httpx  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
LOOPBACK = "127.0.0.1"


# -- the server (child process) -----------------------------------------------------------------------------
def serve(database: str, port: int, token_file: Path) -> None:
    """Run the host app as production does (default hasher and limits) and write an API token for the bench."""
    import uvicorn

    from oms_host.api import create_app
    from oms_host.auth import Role
    from oms_host.host import open_host

    host = open_host(database, ROOT / "rulesets")
    app = create_app(host)
    users = app.state.users
    users.add("desk", secrets.token_urlsafe(16), Role.ORDER_DESK)
    token = users.issue_token("bench", Role.READ_ONLY, host.clock.now())
    token_file.write_text(token, encoding="utf-8")
    uvicorn.run(app, host=LOOPBACK, port=port, log_level="warning")


# -- measuring (parent) -------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def _rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (VmRSS from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _me_latencies(client: httpx.Client, headers: dict[str, str], until: threading.Event | None,
                  count: int) -> list[float]:
    """Seconds per ``GET /api/me``: ``count`` requests, or until ``until`` is set."""
    latencies = []
    while (until is None and len(latencies) < count) or (until is not None and not until.is_set()):
        started = time.perf_counter()
        response = client.get("/api/me", headers=headers)
        latencies.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"/api/me answered {response.status_code}: {response.text[:200]}")
        if until is not None:
            time.sleep(0.02)  # a desk user's pace, not a second flood
    return latencies


def _flooder(base: str, number: int, attempts: int, deadline: float, outcomes: Counter[str],
             lock: threading.Lock) -> None:
    """Bogus log-ins from 127.0.0.<number+2>: unknown names, and the real name with a wrong password."""
    transport = httpx.HTTPTransport(local_address=f"127.0.0.{number + 2}")
    with httpx.Client(base_url=base, transport=transport, timeout=30) as client:
        for i in range(attempts):
            if time.monotonic() > deadline:
                break
            name = "desk" if i % 4 == 0 else f"nobody-{number}-{i}"
            try:
                status = str(client.post("/api/session", json={"username": name, "password": f"guess-{i}"})
                             .status_code)
            except httpx.HTTPError as exc:
                status = type(exc).__name__
            with lock:
                outcomes[status] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=400, help="bogus log-ins in all (default 400)")
    parser.add_argument("--clients", type=int, default=8, help="flooding client threads, one address each")
    parser.add_argument("--seconds", type=float, default=40, help="the flood stops after this long at most")
    parser.add_argument("--idle-requests", type=int, default=60)
    parser.add_argument("--serve", nargs=3, metavar=("DATABASE", "PORT", "TOKEN_FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], int(args.serve[1]), Path(args.serve[2]))
        return 0
    if not 1 <= args.clients <= 50 or not 1 <= args.logins <= 10_000 or args.seconds > 600:
        parser.error("keep the flood bounded: 1-50 clients, 1-10,000 log-ins, at most 600 s")

    with tempfile.TemporaryDirectory(prefix="tarif-login-flood-") as folder:
        port, token_file = _free_port(), Path(folder) / "token"
        base = f"http://{LOOPBACK}:{port}"
        server = subprocess.Popen([sys.executable, __file__, "--serve", f"sqlite:///{folder}/tarif.sqlite3",
                                   str(port), str(token_file)], cwd=ROOT)
        try:
            deadline = time.monotonic() + 60
            while not token_file.exists() or not _listening(port):
                if time.monotonic() > deadline or server.poll() is not None:
                    print("bench/login_flood.py: the server did not start")
                    return 1
                time.sleep(0.1)
            return _measure(args, base, server.pid, {"Authorization": f"Bearer {token_file.read_text().strip()}"})
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) == 0


def _measure(args: argparse.Namespace, base: str, pid: int, auth: dict[str, str]) -> int:
    load_before = os.getloadavg()
    with httpx.Client(base_url=base, timeout=30) as client:
        _me_latencies(client, auth, None, 10)  # warm up: connections, caches, the first query
        rss_idle = _rss_mb(pid)
        idle = _me_latencies(client, auth, None, args.idle_requests)

        peak, stop_sampling = [rss_idle], threading.Event()

        def sample() -> None:
            while not stop_sampling.is_set():
                peak[0] = max(peak[0], _rss_mb(pid))
                time.sleep(0.005)

        outcomes: Counter[str] = Counter()
        lock, flood_over = threading.Lock(), threading.Event()
        share, rest = divmod(args.logins, args.clients)
        until = time.monotonic() + args.seconds
        flooders = [threading.Thread(target=_flooder, args=(base, n, share + (n < rest), until, outcomes, lock))
                    for n in range(args.clients)]
        sampler = threading.Thread(target=sample)
        during: list[float] = []
        measurer = threading.Thread(target=lambda: during.extend(_me_latencies(client, auth, flood_over, 0)))
        started = time.monotonic()
        sampler.start()
        measurer.start()
        for thread in flooders:
            thread.start()
        for thread in flooders:
            thread.join()
        flood_seconds = time.monotonic() - started
        flood_over.set()
        measurer.join()
        time.sleep(0.5)
        stop_sampling.set()
        sampler.join()
        rss_after = _rss_mb(pid)

    idle_ms, during_ms = statistics.median(idle) * 1000, statistics.median(during) * 1000
    ratio = during_ms / idle_ms
    peak_growth, left_growth = peak[0] - rss_idle, rss_after - rss_idle
    load_after = os.getloadavg()
    print(f"log-in flood: {sum(outcomes.values())} bogus log-ins from {args.clients} clients "
          f"(127.0.0.2-127.0.0.{args.clients + 1}) in {flood_seconds:.1f} s against {base}")
    print(f"  log-ins answered   : {dict(sorted(outcomes.items()))}  (401: hashed and refused; "
          "429: throttled or no hash slot, not hashed)")
    print(f"  GET /api/me median : idle {idle_ms:.1f} ms ({len(idle)} requests), during the flood "
          f"{during_ms:.1f} ms ({len(during)} requests)")
    print(f"  ratio              : {ratio:.2f}  (target <= 2: {'met' if ratio <= 2 else 'NOT met'})")
    verdict = {True: "met", False: "NOT met"}
    print(f"  server memory      : {rss_idle:.0f} MB idle, peak +{peak_growth:.0f} MB during the flood, "
          f"+{left_growth:.0f} MB after it  (target <= 50 MB: {verdict[peak_growth <= 50]} at the peak, "
          f"{verdict[left_growth <= 50]} after)")
    print(f"  load average       : {load_before[0]:.2f} before, {load_after[0]:.2f} after "
          f"({os.cpu_count()} cores)")
    errors = {k: v for k, v in outcomes.items() if k not in ("401", "429")}
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
