"""A contender process for the multi-process histories: real time, real processes, one store.

``python -m tests.reliability.process_contender CONFIG_JSON`` campaigns, renews on a thread
and lets go with the library's ``Tenure``, writes to a shared ``FencedSink`` while it
believes it holds the lease, and sometimes crashes (``os._exit``) or walks away without
releasing; the parent freezes it (SIGSTOP) past the ttl. Its store is wrapped in a
``SimStore`` without a simulation (lost responses, transient errors, real latency) and its wall
clock is skewed within the allowance. Every event is appended to the shared JSON-lines log on
the host's monotonic clock, which all processes share.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cloudlease.clock import SystemClock
from cloudlease.errors import LeaseHeld, StoreUnavailable
from cloudlease.store import BaseStore
from cloudlease.tenure import Tenure, TimingPolicy
from cloudlease.testing.history import Event, History
from cloudlease.testing.sink import FencedSink
from cloudlease.urls import open_store
from tests.reliability.simstore import SimStore


class SkewedClock(SystemClock):
    """The host's clock with the wall clock off by ``skew_ms``."""

    def __init__(self, skew_ms: int) -> None:
        self.skew_ms = skew_ms

    def wall_ms(self) -> int:
        return super().wall_ms() + self.skew_ms


class LoggedHistory(History):
    """A History that appends every event to a shared JSON-lines file as it happens."""

    def __init__(self, path: Path) -> None:
        super().__init__(time.monotonic)
        self.out = path.open("a")
        self._write = threading.Lock()

    def record(self, actor: str, kind: str, **fields: Any) -> Event:
        event = super().record(actor, kind, **fields)
        with self._write:
            self.out.write(event.to_json() + "\n")
            self.out.flush()
        return event


def contend(config: dict[str, Any]) -> None:
    holder, ttl = config["holder"], config["ttl"]
    rng = random.Random(config["seed"])
    history = LoggedHistory(Path(config["log"]))
    inner = open_store(
        config["url"],
        clock=SkewedClock(config["skew_ms"]),
        takeover_allowance=config["allowance"],
        clock_skew_bound=config["allowance"],
    )
    assert isinstance(inner, BaseStore)
    store = SimStore(
        inner,
        None,
        history,
        holder,
        attempts=itertools.count(os.getpid() * 1_000_000),
        latency=ttl / 40,
        lost_rate=config["lost_rate"],
        transient_rate=config["transient_rate"],
        rng=random.Random(rng.getrandbits(64)),
    )
    sink = FencedSink(config["sink"])
    end = time.monotonic() + config["seconds"]
    while time.monotonic() < end:
        policy = TimingPolicy.for_store(store, lease=config["lease"], ttl=ttl, retry_every=ttl / 3)
        held = Tenure(
            store, config["lease"], policy=policy, holder=holder, wait=rng.uniform(0, ttl)
        )
        try:
            lease = held.acquire().lease
        except (LeaseHeld, StoreUnavailable):
            continue
        history.record(holder, "granted", token=lease.token, deadline=lease.deadline)
        held.start_renewing()
        for _ in range(rng.randint(1, 5)):
            time.sleep(rng.uniform(0, ttl / 3))
            if not held.is_valid():
                break
            history.record(holder, "claim", token=held.token, deadline=held.lease.deadline)
            sink.write(held.token, holder)  # the sink logs it, in its own order
        if rng.random() < 0.1:
            history.record(holder, "crashed")
            os._exit(0)  # a crash: nothing released, the keeper dies with the process
        history.record(holder, "stopped", token=held.token)
        held.stop_renewing()
        if rng.random() < 0.85:
            held.release()
        time.sleep(rng.uniform(0, ttl / 2))
    store.close()


if __name__ == "__main__":
    contend(json.loads(sys.argv[1]))
