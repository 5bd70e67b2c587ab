"""Many leases held in one process: threads, memory and late renewals (docs/performance.md).

Each store runs in a fresh interpreter that takes ``--leases`` leases with ``hold()`` (renewal
in the background, the process's renewal scheduler) and keeps them for ``--rounds`` ttl, on
the real clock. It samples the thread count and the resident set size every second and records
every renewal request as the store receives it.

A renewal is *late* when it is attempted more than ``--slack`` seconds after its planned
instant (the Tenure's ``next_wakeup()`` when the request reaches the store), or when a lease
reaches its local deadline (steps down) before the end of the run. Figures go to docs, never
into tests; the machine is shared, so the run notes its load.

    .venv/bin/python -m benchmarks.many_leases [--leases 10000] [--ttl 30] [--rounds 3]
        [--stores memory,sqlite] [--out benchmarks/results/many_leases.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any, ClassVar

from benchmarks._common import load_average, log, machine, percentile

ROOT = Path(__file__).resolve().parent.parent


def rss_mb() -> float:
    """The resident set size now, in MB (``/proc/self/statm``)."""
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def open_timed(kind: str, directory: str) -> Any:
    """The store, subclassed to record each renewal's lateness against its plan."""
    from cloudlease.lease import Lease
    from cloudlease.stores.memory import MemoryStore
    from cloudlease.stores.sqlite import SQLiteStore

    base: Any = MemoryStore if kind == "memory" else SQLiteStore

    class Timed(base):  # type: ignore[misc]
        planned: ClassVar[dict[str, Any]] = {}
        lateness: ClassVar[list[float]] = []

        def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> Any:
            tenure = self.planned.get(lease.name)
            if tenure is not None:
                self.lateness.append(time.monotonic() - tenure.next_wakeup())
            return super()._renew(lease, now_ms, ttl_ms)

    return Timed() if kind == "memory" else Timed(Path(directory) / "leases.db")


def one(kind: str, leases: int, ttl: float, rounds: float, slack: float) -> dict[str, Any]:
    """Hold ``leases`` leases on one store for ``rounds`` ttl; the figures."""
    from cloudlease import hold

    with tempfile.TemporaryDirectory() as directory:
        store = open_timed(kind, directory)
        threads_before, rss_before = threading.active_count(), rss_mb()
        cpu0, started = time.process_time(), time.monotonic()
        with ExitStack() as stack:
            held = []
            for i in range(leases):
                tenure = stack.enter_context(hold(store, f"lease-{i}", ttl=ttl))
                store.planned[tenure.name] = tenure
                held.append(tenure)
            acquired_s = time.monotonic() - started
            threads_max, rss_max = threading.active_count(), rss_mb()
            end = time.monotonic() + rounds * ttl
            while time.monotonic() < end:
                time.sleep(1.0)
                threads_max = max(threads_max, threading.active_count())
                rss_max = max(rss_max, rss_mb())
            lost = [t for t in held if t.lost.is_set()]
            lateness = list(store.lateness)
        cpu = time.process_time() - cpu0
        return {
            "leases": leases,
            "ttl_s": ttl,
            "held_s": rounds * ttl,
            "acquire_all_s": round(acquired_s, 2),
            "threads_before": threads_before,
            "threads_max": threads_max,
            "threads_after": threading.active_count(),
            "rss_before_mb": round(rss_before, 1),
            "rss_growth_mb": round(rss_max - rss_before, 1),
            "renewals": len(lateness),
            "late": sum(1 for x in lateness if x > slack) + len(lost),
            "late_renewals": sum(1 for x in lateness if x > slack),
            "stepped_down": len(lost),
            "slack_s": slack,
            "lateness_ms": {
                "p50": round(percentile(lateness, 0.5) * 1000, 1),
                "p99": round(percentile(lateness, 0.99) * 1000, 1),
                "max": round(max(lateness) * 1000, 1),
            },
            "cpu_s": round(cpu, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--leases", type=int, default=10_000)
    parser.add_argument("--ttl", type=float, default=30.0)
    parser.add_argument("--rounds", type=float, default=3.0, help="how many ttl to hold them")
    parser.add_argument("--slack", type=float, default=0.5, help="seconds past plan = late")
    parser.add_argument("--stores", default="memory,sqlite")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.leases, args.ttl, args.rounds, args.slack)))
        return
    command = "python -m benchmarks.many_leases " + " ".join(sys.argv[1:])
    results: dict[str, Any] = {
        "command": command.strip(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": machine(),
        "load_before": load_average(),
        "stores": {},
    }
    for kind in args.stores.split(","):
        log(f"{kind}: {args.leases} leases, ttl {args.ttl:g} s, held {args.rounds:g} ttl")
        child = [sys.executable, "-m", "benchmarks.many_leases", "--one", kind]
        child += ["--leases", str(args.leases), "--ttl", str(args.ttl)]
        child += ["--rounds", str(args.rounds), "--slack", str(args.slack)]
        out = subprocess.run(child, cwd=ROOT, capture_output=True, text=True, check=True)
        results["stores"][kind] = json.loads(out.stdout)
        log(f"{kind}: {results['stores'][kind]}")
    results["load_after"] = load_average()
    text = json.dumps({"many_leases": results}, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
