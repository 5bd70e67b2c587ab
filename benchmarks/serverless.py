"""The serverless wrapper's cost: store requests per guarded invocation, and added latency.

    .venv/bin/python -m benchmarks.serverless [--calls 300]

For ``@single_runner`` on the memory and SQLite stores, plain and once-per-tick: requests
per invocation (counted by FaultyStore, which wraps the real store's primitives) and the
median latency of a guarded call over an unguarded one, calls alternating. Figures are
printed as Markdown; they go to docs, never into test assertions.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cloudlease import single_runner
from cloudlease.store import BaseStore
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing import FaultyStore


def measure(store: FaultyStore, calls: int, tick: bool) -> tuple[float, float, float]:
    """(requests per call, median guarded us, median unguarded us)."""
    counter = iter(range(10**9))

    def work() -> int:
        return 1

    guarded: Callable[[], int] = single_runner(
        store=store,
        name="bench",
        ttl=30,
        tick=(lambda: f"t{next(counter)}") if tick else None,
    )(work)
    guarded()  # warm up (SQLite creates its table)
    store.requests.clear()
    with_lease, without = [], []
    for _ in range(calls):
        start = time.perf_counter()
        guarded()
        with_lease.append(time.perf_counter() - start)
        start = time.perf_counter()
        work()
        without.append(time.perf_counter() - start)
    per_call = sum(store.requests.values()) / calls
    return per_call, statistics.median(with_lease) * 1e6, statistics.median(without) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        stores: list[tuple[str, Callable[[], BaseStore]]] = [
            ("memory", MemoryStore),
            ("sqlite", lambda: SQLiteStore(Path(tmp) / "bench.db")),
        ]
        print("| store | mode | requests / invocation | guarded median us | unguarded us |")
        print("| --- | --- | ---: | ---: | ---: |")
        for label, make in stores:
            for tick in (False, True):
                store = FaultyStore(make())
                per_call, guarded_us, bare_us = measure(store, args.calls, tick)
                mode = "once-per-tick" if tick else "plain"
                print(f"| {label} | {mode} | {per_call:.2f} | {guarded_us:.0f} | {bare_us:.2f} |")


if __name__ == "__main__":
    main()
