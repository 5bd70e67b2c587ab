"""Section 7: the serverless wrapper's cost: store requests per guarded invocation, and latency.

    .venv/bin/python -m benchmarks.serverless [--calls 300]   (memory and SQLite only)

``@single_runner`` on each store, plain and once-per-tick (a new tick each call): requests
per invocation, counted at the transport (``benchmarks._stores``: primitives for the embedded
stores, botocore for DynamoDB), and the median latency of a guarded call next to the same
function unguarded, calls alternating. ``run_all`` adds DynamoDB on moto.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from typing import Any

from benchmarks._common import log, summary, timed
from benchmarks._stores import Counts, Spec, open_store
from cloudlease import single_runner


def measure(spec: Spec, calls: int, tick: bool) -> dict[str, Any]:
    """Requests per call and latency of a guarded call vs an unguarded one."""
    counts = Counts()
    store = open_store(spec, counts)
    counter = iter(range(10**9))

    def work() -> int:
        return 1

    guarded: Callable[[], int] = single_runner(
        store=store,
        name="bench",
        ttl=30,
        tick=(lambda: f"t{next(counter)}") if tick else None,
    )(work)
    for _ in range(5):  # warm up (SQLite creates its table, clients connect)
        guarded()
    counts.reset()
    with_lease, without = [], []
    for _ in range(calls):
        with_lease.append(timed(guarded) * 1e6)
        without.append(timed(work) * 1e6)
    store.close()
    return {
        "requests_per_call": counts.total() / calls,
        "requests_by_op": {op: n / calls for op, n in counts.by_op().items()},
        "guarded_us": summary(with_lease),
        "unguarded_us": summary(without),
        "calls": calls,
    }


def run(specs: dict[str, Spec], calls: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for kind, spec in specs.items():
        for tick in (False, True):
            mode = "once-per-tick" if tick else "plain"
            row = results[f"{kind}/{mode}"] = measure(spec, calls, tick)
            log(f"serverless {kind} {mode}: {row['requests_per_call']:.2f} requests/call")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        specs = {
            "memory": {"kind": "memory", "name": "serverless"},
            "sqlite": {"kind": "sqlite", "path": f"{tmp}/bench.db"},
        }
        results = run(specs, args.calls)
    print("| store | mode | requests / invocation | guarded median us | unguarded median us |")
    print("| --- | --- | ---: | ---: | ---: |")
    for key, row in results.items():
        label, mode = key.split("/")
        print(
            f"| {label} | {mode} | {row['requests_per_call']:.2f} | "
            f"{row['guarded_us']['median']:.0f} | {row['unguarded_us']['median']:.2f} |"
        )


if __name__ == "__main__":
    main()
