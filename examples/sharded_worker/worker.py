"""A sharded worker: many workers share P partitions of a queue, each partition held by one.

Every worker holds a membership lease ``members:<id>`` and some partition leases
``partitions:<n>``, all renewed by the process's one renewal scheduler (no thread per lease).
Each round it reads the store's records once: the live members give the worker count W, and it
aims to hold ceil(P / W) partitions. It takes free partitions without waiting (a refusal just
means another worker was faster), and when workers join it releases its surplus so they can
take it; when one dies, its leases expire and the others take its partitions. Every write to
a partition is fenced by that partition's token: the sink refuses a token older than the
newest it has seen for the partition, so a worker that lost a partition cannot write over its
new owner. SIGTERM releases everything at once. Each change is printed as one JSON line.

Environment: ``CLOUDLEASE_STORE`` (e.g. ``sqlite:///leases.db``), ``SINK`` (the fenced sink's
SQLite file), ``WORKER`` (the worker id), ``PARTITIONS`` (default 256), ``TTL`` (seconds,
default 15).
"""

from __future__ import annotations

import json
import math
import os
import random
import signal
import socket
import sqlite3
import threading

from cloudlease import LeaseHeld, LeaseStore, StoreUnavailable, Tenure, hold, open_store

MEMBERS, PARTITIONS = "members:", "partitions:"


class PartitionSink:
    """A fenced resource per partition (in real life: a table keyed by partition)."""

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS fence (partition INTEGER PRIMARY KEY, token INTEGER)"
        )
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS writes (seq INTEGER PRIMARY KEY AUTOINCREMENT, "
            "partition INTEGER, token INTEGER, worker TEXT, accepted INTEGER)"
        )

    def write(self, partition: int, token: int, worker: str) -> bool:
        """Write to ``partition`` with ``token``; False if a newer token has written there."""
        with self.db:  # one transaction: the fence check, the write and its log line
            self.db.execute("BEGIN IMMEDIATE")
            accepted = self.db.execute(
                "INSERT INTO fence VALUES (?, ?) ON CONFLICT (partition) DO UPDATE "
                "SET token = excluded.token WHERE excluded.token >= fence.token",
                (partition, token),
            ).rowcount
            self.db.execute(
                "INSERT INTO writes (partition, token, worker, accepted) VALUES (?, ?, ?, ?)",
                (partition, token, worker, accepted),
            )
        return bool(accepted)


def emit(event: str, **fields: object) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


class ShardedWorker:
    """One worker: its membership lease, the partitions it holds, and one round at a time."""

    def __init__(
        self, store: LeaseStore, sink: PartitionSink, worker: str, partitions: int, ttl: float
    ) -> None:
        self.store, self.sink, self.worker = store, sink, worker
        self.partitions, self.ttl = partitions, ttl
        self.held: dict[int, Tenure] = {}
        member = self._take(MEMBERS + worker)
        if member is None:
            raise SystemExit(f"worker id {worker!r} is in use")
        self.member = member

    def _take(self, name: str) -> Tenure | None:
        """Acquire ``name`` without waiting and renew it in the background; None if held."""
        tenure = hold(self.store, name, ttl=self.ttl, holder=self.worker)
        try:
            tenure.acquire()
        except (LeaseHeld, StoreUnavailable):  # held elsewhere, or try again next round
            return None
        tenure.start_renewing()  # one more entry in the scheduler's heap, not a thread
        return tenure

    def _drop(self, partition: int, why: str) -> None:
        tenure = self.held.pop(partition)
        tenure.stop_renewing()
        tenure.release()
        emit("released", worker=self.worker, partition=partition, why=why)

    def rebalance(self) -> None:
        """One round: forget lost partitions, release the surplus, take free ones."""
        if not self.member.is_valid():  # lost (the process was paused past its ttl): rejoin
            self.member = self._take(MEMBERS + self.worker) or self.member
        for partition, tenure in list(self.held.items()):
            if not tenure.is_valid():
                self.held.pop(partition).stop_renewing()
                emit("lost", worker=self.worker, partition=partition)
        now_ms = self.store.clock.wall_ms()
        records = {r.name: r for r in self.store.records() if r.holder and r.expires_at > now_ms}
        workers = max(1, sum(name.startswith(MEMBERS) for name in records))
        target = math.ceil(self.partitions / workers)
        for partition in list(self.held)[target:]:
            self._drop(partition, f"surplus: {workers} workers, {target} each")
        free = [n for n in range(self.partitions) if f"{PARTITIONS}{n}" not in records]
        random.shuffle(free)  # workers starting together do not all race for the same ones
        for partition in free[: max(0, target - len(self.held))]:
            taken = self._take(f"{PARTITIONS}{partition}")
            if taken is not None:
                self.held[partition] = taken
                emit("took", worker=self.worker, partition=partition, token=taken.token)

    def work(self) -> None:
        """Process each held partition, fenced by its token."""
        for partition, tenure in list(self.held.items()):
            if tenure.is_valid() and not self.sink.write(partition, tenure.token, self.worker):
                self._drop(partition, "fenced: a newer token wrote")

    def stop(self) -> None:
        for partition in list(self.held):
            self._drop(partition, "stopping")
        self.member.stop_renewing()
        self.member.release()


def main() -> None:
    store = open_store()
    store.init()
    worker = ShardedWorker(
        store,
        PartitionSink(os.environ["SINK"]),
        os.environ.get("WORKER", f"{socket.gethostname()}-{os.getpid()}"),
        int(os.environ.get("PARTITIONS", "256")),
        float(os.environ.get("TTL", "15")),
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emit("started", worker=worker.worker)
    while not stop.is_set():
        try:
            worker.rebalance()
            worker.work()
        except StoreUnavailable as exc:  # the held leases' deadlines still stand; try again
            emit("unavailable", worker=worker.worker, error=str(exc))
        stop.wait(worker.ttl / 3)
    worker.stop()
    emit("stopped", worker=worker.worker)


if __name__ == "__main__":
    main()
