"""Firestore store: requests per operation, and latency against the same work done by hand.

Each store operation is timed alternately with its raw equivalent on the same emulator (a
transaction that reads and writes one document; a write with a last_update_time precondition;
a document read), and reported as the median ratio store/raw with its interquartile range.
Results go to docs/firestore.md; nothing here is asserted.

    .venv/bin/python -m benchmarks.firestore [--iterations 200]

Starts Google's Firestore emulator on a free loopback port unless FIRESTORE_EMULATOR_HOST is
set (then that emulator is used).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from google.cloud import firestore

from cloudlease.errors import LeaseHeld
from cloudlease_firestore import FirestoreStore
from tests.emulators import ManagedProcess, free_port, port_open
from tests.firestore.interceptors import Interceptor, intercepted_client

EMULATOR = "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator"
PROJECT = "demo-bench"


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


class Pairs:
    """Alternating (store, raw) timings per operation."""

    def __init__(self) -> None:
        self.ours: dict[str, list[float]] = {}
        self.raw: dict[str, list[float]] = {}

    def run(self, op: str, ours: Callable[[], object], raw: Callable[[], object]) -> None:
        """Time both, store first on even rounds and raw first on odd ones."""
        mine = self.ours.setdefault(op, [])
        theirs = self.raw.setdefault(op, [])
        if len(mine) % 2 == 0:
            mine.append(timed(ours))
            theirs.append(timed(raw))
        else:
            theirs.append(timed(raw))
            mine.append(timed(ours))

    def row(self, op: str, raw_name: str) -> str:
        ratios = [a / b for a, b in zip(self.ours[op], self.raw[op], strict=True)]
        q1, q2, q3 = statistics.quantiles(ratios, n=4)
        ours_ms = statistics.median(self.ours[op]) * 1000
        raw_ms = statistics.median(self.raw[op]) * 1000
        cells = [
            op,
            raw_name,
            f"{ours_ms:.2f}",
            f"{raw_ms:.2f}",
            f"{q2:.2f}",
            f"{q1:.2f} to {q3:.2f}",
        ]
        return "| " + " | ".join(cells) + " |"


def count_requests(store: FirestoreStore, interceptor: Interceptor) -> list[str]:
    """One table row per operation: how many requests it made, by method."""
    rows: list[tuple[str, dict[str, int]]] = []
    interceptor.reset()

    def measure(op: str, call: Callable[[], object]) -> None:
        interceptor.reset()
        call()
        rows.append((op, dict(interceptor.requests)))

    lease = store.acquire("rpc", "h", 30)
    rows.append(("acquire", dict(interceptor.requests)))
    interceptor.reset()
    lease = store.renew(lease)
    rows.append(("renew", dict(interceptor.requests)))
    measure("acquire (refused)", lambda: _refused(store))
    measure("release", lambda: store.release(lease))
    measure("get", lambda: store.get("rpc"))
    return [
        f"| {op} | {sum(r.values())} ({', '.join(f'{k} {v}' for k, v in sorted(r.items()))}) |"
        for op, r in rows
    ]


def _refused(store: FirestoreStore) -> None:
    with contextlib.suppress(LeaseHeld):
        store.acquire("rpc", "someone-else", 30)


def bench(host: str, iterations: int) -> str:
    interceptor = Interceptor()
    client = intercepted_client(host, PROJECT, interceptor)
    store = FirestoreStore(PROJECT, "bench_leases", client=client)
    raw = client.collection("bench_raw")

    @firestore.transactional
    def raw_take(transaction: firestore.Transaction, ref: firestore.DocumentReference) -> None:
        snapshot = next(iter(transaction.get(ref)))
        token = (snapshot.get("token") if snapshot.exists else 0) + 1
        transaction.set(ref, {"holder": "raw", "token": token, "expires_at": 1})

    raw_ref = raw.document("conditional")
    last = {"t": raw_ref.set({"expires_at": 0}).update_time}

    def raw_conditional() -> None:
        result = raw_ref.update(
            {"expires_at": firestore.Increment(1)},
            option=client.write_option(last_update_time=last["t"]),
        )
        last["t"] = result.update_time

    requests = count_requests(store, interceptor)
    pairs = Pairs()
    held = [store.acquire("renewed", "h", 30)]
    for i in range(iterations):
        name = f"a{i}"
        pairs.run(
            "acquire",
            functools.partial(store.acquire, name, "h", 30),
            functools.partial(raw_take, client.transaction(), raw.document(name)),
        )
        pairs.run("renew", lambda: held.append(store.renew(held[-1])), raw_conditional)
        lease = store.acquire(f"r{i}", "h", 30)
        pairs.run("release", functools.partial(store.release, lease), raw_conditional)
        pairs.run("get", lambda: store.get("renewed"), raw_ref.get)
    store.close()
    return "\n".join(
        [
            "| operation | requests |",
            "| --- | --- |",
            *requests,
            "",
            f"Latency, {iterations} alternating pairs on the emulator (store vs raw SDK code):",
            "",
            "| operation | raw equivalent | store median ms | raw median ms | ratio median "
            "| ratio IQR |",
            "| --- | --- | --- | --- | --- | --- |",
            pairs.row("acquire", "`@transactional`: get + set"),
            pairs.row("renew", "`update(option=write_option(last_update_time=...))`"),
            pairs.row("release", "`update(option=write_option(last_update_time=...))`"),
            pairs.row("get", "`DocumentReference.get()`"),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    host = os.environ.get("FIRESTORE_EMULATOR_HOST")
    process = None
    if not host:
        port = free_port()
        process = ManagedProcess(
            "firestore-bench",
            [EMULATOR, "start", "--host=127.0.0.1", f"--port={port}"],
            log_dir=Path(tempfile.mkdtemp()),
        )
        process.wait_until(lambda: port_open(port), timeout=60)
        host = f"127.0.0.1:{port}"
        os.environ["FIRESTORE_EMULATOR_HOST"] = host
    try:
        print(bench(host, args.iterations))
    finally:
        if process is not None:
            process.stop()


if __name__ == "__main__":
    main()
