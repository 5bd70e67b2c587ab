"""examples/sharded_worker: workers come and go over 32 partitions on one SQLite file.

Two workers split the partitions evenly, a third joins and takes its share from their
surplus, a killed one's partitions are taken over once its leases expire, and SIGTERM
releases everything. The fenced sink's log shows each partition written by one worker at a
time: per partition, tokens only grow, each token belongs to one worker, and no worker's
write was refused, while a write with a dead worker's token is.
"""

from __future__ import annotations

import importlib.util
import signal
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from types import ModuleType

from cloudlease import open_store
from cloudlease.scheduler import MAX_WORKERS
from tests.emulators import ROOT
from tests.examples import example_env
from tests.helpers import eventually

WORKER = ROOT / "examples" / "sharded_worker" / "worker.py"
PARTITIONS = "partitions:"
COUNT = 32
TTL = 2.0
WAIT = 90.0  # generous: the machine may be loaded; nothing here asserts a duration


def example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sharded_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_workers_rebalance_partitions_as_they_come_and_go(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leases.db'}"
    sink_path = str(tmp_path / "sink.db")
    store = open_store(url)
    store.init()
    workers: dict[str, subprocess.Popen[str]] = {}

    def start(name: str) -> None:
        env = example_env(
            CLOUDLEASE_STORE=url, SINK=sink_path, WORKER=name, PARTITIONS=str(COUNT), TTL=str(TTL)
        )
        with (tmp_path / f"{name}.log").open("w") as out:
            workers[name] = subprocess.Popen(
                [sys.executable, str(WORKER)],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                cwd=ROOT,
            )

    def owners() -> dict[int, str]:
        now_ms = store.clock.wall_ms()
        return {
            int(r.name.removeprefix(PARTITIONS)): r.holder
            for r in store.records()
            if r.name.startswith(PARTITIONS) and r.holder and r.expires_at > now_ms
        }

    def balanced(*names: str) -> bool:
        for name in names:
            assert workers[name].poll() is None, (tmp_path / f"{name}.log").read_text()
        split = Counter(owners().values())
        shares = [split[name] for name in names]
        return set(split) == set(names) and sum(shares) == COUNT and max(shares) - min(shares) <= 1

    try:
        start("a")
        start("b")
        eventually(lambda: balanced("a", "b"), WAIT, what="a 16/16 split", poll=0.1)
        start("c")
        eventually(lambda: balanced("a", "b", "c"), WAIT, what="an 11/11/10 split", poll=0.1)

        dead = {
            n: r.token for n in owners() if (r := store.get(f"{PARTITIONS}{n}")) and r.holder == "c"
        }
        workers["c"].send_signal(signal.SIGKILL)
        workers["c"].wait(30)
        eventually(lambda: balanced("a", "b"), WAIT, what="c's share taken over", poll=0.1)

        fence = sqlite3.connect(sink_path)

        def rewritten() -> bool:
            tokens = dict(fence.execute("SELECT partition, token FROM fence").fetchall())
            return all(tokens[n] > token for n, token in dead.items())

        eventually(rewritten, WAIT, what="c's partitions written by their new owners", poll=0.1)
        sink = example().PartitionSink(sink_path)
        assert not any(sink.write(n, token, "c") for n, token in dead.items())

        for name in "ab":
            workers[name].send_signal(signal.SIGTERM)
        assert [workers[name].wait(60) for name in "ab"] == [0, 0]
        assert owners() == {}
    finally:
        for process in workers.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    writes = fence.execute(
        "SELECT partition, token, worker, accepted FROM writes ORDER BY seq"
    ).fetchall()
    assert {partition for partition, *_ in writes} == set(range(COUNT))
    newest: dict[int, int] = {}
    owner: dict[tuple[int, int], str] = {}
    for partition, token, worker, accepted in writes:
        if worker == "c" and (partition, token) in dead.items() and not accepted:
            continue  # the stale writes this test made
        assert accepted, (partition, token, worker)
        assert token >= newest.get(partition, 0), (partition, token, worker)
        assert owner.setdefault((partition, token), worker) == worker, (partition, token)
        newest[partition] = token
    assert len(dead) in (10, 11)


def test_one_worker_holds_every_partition_without_a_thread_per_lease(tmp_path: Path) -> None:
    module = example()
    store = open_store(f"sqlite:///{tmp_path / 'leases.db'}")
    store.init()
    before = threading.active_count()
    worker = module.ShardedWorker(
        store, module.PartitionSink(str(tmp_path / "sink.db")), "solo", 64, 30.0
    )
    try:
        worker.rebalance()
        worker.work()
        assert sorted(worker.held) == list(range(64))
        assert threading.active_count() - before <= 1 + MAX_WORKERS  # the scheduler and its pool
    finally:
        worker.stop()
    assert [r.holder for r in store.records()] == [""] * 65  # 64 partitions and the member
