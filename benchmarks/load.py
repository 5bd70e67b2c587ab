"""Load: many LeaderElectors on one lease → one leader at a time, and a bounded request rate.

Each contender runs a ``LeaderElector`` (its own store object on the shared store); a leader
does fenced writes for a while, resigns, and campaigns again with a new elector. Every store
request is counted (``FaultyStore`` without faults), every tenure is logged on the host's
monotonic clock, and the history is checked by ``cloudlease.testing.history``: one leader at a
time by each leader's own deadline, a fenced sink that never goes back.

The bound on requests comes from the retry policy alone: a campaigning elector sends at most
one acquire per ``retry_period`` (it waits at least that long between attempts, jitter only
stretches the wait), plus one immediate attempt per elector started; a leader sends one renewal
per ``renew_every`` and one release; so
``requests <= contenders * (seconds / retry_period + 1) + tenures * 2 + seconds / renew_every``
whatever the number of contenders does to the store: no thundering herd.

    .venv/bin/python -m benchmarks.load [--contenders 64] [--seconds 30] [--store sqlite|dynamodb]

Prints one JSON object per store; figures go to docs/reliability.md, nothing is asserted here
(tests/reliability/test_load.py runs a short version and asserts the bound).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cloudlease.elector import LeaderElector
from cloudlease.keeper import HeldLease
from cloudlease.store import BaseStore
from cloudlease.testing.faults import FaultyStore
from cloudlease.testing.history import History, check_single_holder, check_sink

LEASE = "leader"


@dataclass
class LoadResult:
    """What one load run measured, and whether it was safe."""

    store: str
    contenders: int
    seconds: float
    ttl: float
    retry_period: float
    requests: Counter[str]
    tenures: int
    writes: int
    refused: int
    peak_per_second: int
    problems: Sequence[str]

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def bound(self) -> float:
        """The most requests the retry policy allows (see the module docstring)."""
        renew_every = self.ttl / 3
        return (
            self.contenders * (self.seconds / self.retry_period + 1)
            + self.tenures * 2
            + self.seconds / renew_every
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "contenders": self.contenders,
            "seconds": round(self.seconds, 1),
            "ttl": self.ttl,
            "retry_period": self.retry_period,
            "tenures (leaders in turn)": self.tenures,
            "requests": dict(sorted(self.requests.items())),
            "requests per second": round(self.total / self.seconds, 1),
            "bound per second (retry policy)": round(self.bound / self.seconds, 1),
            "peak requests in one second": self.peak_per_second,
            "fenced writes accepted": self.writes,
            "fenced writes refused": self.refused,
            "violations": len(self.problems),
        }


class _Sink:
    """An in-process fenced sink that logs into the history."""

    def __init__(self, history: History) -> None:
        self.history = history
        self.newest: int | None = None
        self.lock = threading.Lock()

    def write(self, token: int, holder: str) -> bool:
        with self.lock:
            accepted = self.newest is None or token >= self.newest
            if accepted:
                self.newest = token
            self.history.record(holder, "write", token=token, ok=accepted)
            return accepted


@dataclass
class _Run:
    """The shared state of one load run, and what each contender does in it."""

    make_store: Callable[[], BaseStore]
    ttl: float
    retry_period: float
    seed: int
    history: History
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    counted: list[FaultyStore] = field(default_factory=list)
    second_buckets: Counter[int] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.sink = _Sink(self.history)

    def count(self, _op: str) -> None:
        with self.lock:
            self.second_buckets[int(time.monotonic() - self.started)] += 1

    def contend(self, index: int) -> None:
        rng = random.Random(self.seed * 1000 + index)
        store = _Counting(self.make_store(), on_request=self.count)
        with self.lock:
            self.counted.append(store)
        while not self.stop.is_set():
            self.one_elector(store, f"c{index}", random.Random(rng.getrandbits(32)), rng)

    def one_elector(
        self, store: FaultyStore, holder: str, elector_rng: random.Random, rng: random.Random
    ) -> None:
        """Campaign with a new elector; lead (fenced writes) for a while; resign."""
        history, stop, ttl = self.history, self.stop, self.ttl
        elected, finishing = threading.Event(), threading.Event()
        open_terms: list[int] = []  # tokens granted to this elector whose end is not logged

        def end_terms() -> None:
            """Log the end of every open term: always before its lease is let go."""
            with self.lock:
                tokens = list(open_terms)
                open_terms.clear()
            for token in tokens:
                history.record(holder, "stopped", token=token)

        def on_elected(held: HeldLease) -> None:
            history.record(holder, "granted", token=held.token, deadline=held.lease.deadline)
            with self.lock:
                open_terms.append(held.token)
            if finishing.is_set() or stop.is_set():  # won just as this elector is let go
                end_terms()
            elected.set()

        elector = LeaderElector(
            store,
            LEASE,
            ttl=ttl,
            retry_period=self.retry_period,
            holder=holder,
            on_elected=on_elected,
            rng=elector_rng,
        ).start()
        while not stop.is_set() and not elected.wait(0.05):
            pass
        held = elector.held
        if elected.is_set() and held is not None:
            end = time.monotonic() + rng.uniform(0.5, 2.0) * ttl
            while time.monotonic() < end and not stop.is_set() and held.is_valid():
                history.record(holder, "claim", token=held.token, deadline=held.lease.deadline)
                self.sink.write(held.token, holder)
                stop.wait(ttl / 10)
        # A term granted from here on is ended by on_elected (it sees ``finishing``), one
        # granted before is in ``open_terms``: either way its end is logged before it can be
        # released (the elector's thread runs on_elected before it can release that term).
        finishing.set()
        end_terms()
        elector.resign()


class _Counting(FaultyStore):
    """A store that reports each request (no faults)."""

    def __init__(self, inner: BaseStore, on_request: Callable[[str], None]) -> None:
        super().__init__(inner)
        self.on_request = on_request

    def _fault_for(self, op: str) -> Any:
        self.on_request(op)
        return super()._fault_for(op)


def run_load(
    make_store: Callable[[], BaseStore],
    *,
    contenders: int = 64,
    seconds: float = 30.0,
    ttl: float = 3.0,
    retry_period: float = 1.0,
    seed: int = 0,
) -> LoadResult:
    """Run ``contenders`` electors for ``seconds`` against stores from ``make_store``."""
    run = _Run(make_store, ttl, retry_period, seed, History(time.monotonic, seed))
    threads = [
        threading.Thread(target=run.contend, args=(i,), daemon=True, name=f"load-{i}")
        for i in range(contenders)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    run.stop.set()
    for thread in threads:
        thread.join(60)
    elapsed = time.monotonic() - run.started
    requests: Counter[str] = Counter()
    for store in run.counted:
        requests.update(store.requests)
        store.close()
    events = list(run.history.events)
    writes = [e for e in events if e.kind == "write"]
    return LoadResult(
        store=run.counted[0].url if run.counted else "?",
        contenders=contenders,
        seconds=elapsed,
        ttl=ttl,
        retry_period=retry_period,
        requests=requests,
        tenures=sum(1 for e in events if e.kind == "granted"),
        writes=sum(1 for e in writes if e.ok),
        refused=sum(1 for e in writes if not e.ok),
        peak_per_second=max(run.second_buckets.values(), default=0),
        problems=check_single_holder(events) + check_sink(events),
    )


@contextlib.contextmanager
def sqlite_stores() -> Iterator[Callable[[], BaseStore]]:
    from cloudlease.stores.sqlite import SQLiteStore

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "leases.db"
        yield lambda: SQLiteStore(path)


@contextlib.contextmanager
def dynamodb_stores() -> Iterator[Callable[[], BaseStore]]:
    """A locked moto server on loopback (moto is not atomic under racing requests)."""
    import signal
    import socket
    import subprocess

    from cloudlease_dynamodb import DynamoDBStore

    env = {
        "AWS_ACCESS_KEY_ID": "load",
        "AWS_SECRET_ACCESS_KEY": "load",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    os.environ.update(env)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).resolve().parent.parent
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.dynamodb.moto_server", str(port), "--locked"],
        cwd=root,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for _ in range(300):
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        first = DynamoDBStore("load", region="us-east-1", endpoint_url=endpoint)
        first.init()
        client = first.client  # one thread-safe client, one store object per contender
        yield lambda: DynamoDBStore("load", client=client, endpoint_url=endpoint)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contenders", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--ttl", type=float, default=3.0)
    parser.add_argument("--retry-period", type=float, default=1.0)
    parser.add_argument("--store", choices=["sqlite", "dynamodb", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "dynamodb"] if args.store == "both" else [args.store]
    for kind in kinds:
        opener = sqlite_stores if kind == "sqlite" else dynamodb_stores
        with opener() as make:
            result = run_load(
                make,
                contenders=args.contenders,
                seconds=args.seconds,
                ttl=args.ttl,
                retry_period=args.retry_period,
            )
        print(json.dumps({**result.to_json(), "store": kind}))
        for problem in result.problems[:5]:
            print(f"  VIOLATION {problem}")


if __name__ == "__main__":
    main()
