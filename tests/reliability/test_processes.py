"""Histories across real processes: six contenders share one store (a SQLite file, or a table
on the locked moto server), with lost responses, transient errors, latency, skewed clocks,
SIGSTOP freezes past the ttl and crashes, for a few seconds of real time each.

The store's own apply order is not observable across processes, so the token check used is the
tenure order; everything else is ``check_history``. The stuck-lease bound gets one second of
slack for process scheduling on a loaded machine (the simulated histories check it exactly).
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cloudlease.store import BaseStore
from cloudlease.tenure import Tenure, TimingPolicy
from cloudlease.testing.history import Event, check_history, excerpt, tenures
from cloudlease.testing.sink import FencedSink
from cloudlease.urls import open_store
from tests.emulators import ROOT
from tests.helpers import freeze_and_replace
from tests.reliability.process_contender import SkewedClock

PROCESSES = 6
SECONDS = 8.0
TTL = 1.0
ALLOWANCE = 0.25


def store_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'leases.db'}"
    from tests.dynamodb.conftest import REGION, create_table

    endpoint = request.getfixturevalue("locked_endpoint")
    return f"dynamodb://{create_table(endpoint)}?region={REGION}&endpoint_url={endpoint}"


@pytest.mark.parametrize("kind", ["sqlite", "dynamodb"])
def test_processes_with_faults_freezes_and_crashes_never_split_the_lease(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    seed = int(os.environ.get("CLOUDLEASE_SEED", random.randrange(1 << 30)))
    print(f"{kind} processes, seed {seed}")
    rng = random.Random(seed)
    url = store_url(kind, tmp_path, request)
    log, sink_path = tmp_path / "history.jsonl", tmp_path / "sink.db"
    FencedSink(sink_path).close()
    half = ALLOWANCE * 500
    skews: list[int] = []
    started = time.monotonic()

    def spawn() -> subprocess.Popen[bytes]:
        skews.append(round(rng.uniform(-half, half)))
        config: dict[str, Any] = {
            "url": url,
            "lease": "contended",
            "holder": f"p{len(skews)}",
            "log": str(log),
            "sink": str(sink_path),
            "seconds": max(0.5, SECONDS - (time.monotonic() - started)),
            "seed": rng.randrange(1 << 30),
            "ttl": TTL,
            "skew_ms": skews[-1],
            "allowance": ALLOWANCE,
            "lost_rate": 0.05,
            "transient_rate": 0.05,
        }
        return subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.process_contender", json.dumps(config)],
            cwd=ROOT,
        )

    freezes = freeze_and_replace(
        spawn, PROCESSES, until=started + SECONDS, rng=rng, longest_freeze=2 * TTL, wait=60
    )

    # Every contender has stopped or crashed: a fresh one must get the lease within the bound.
    probe_skew = round(rng.uniform(-half, half))
    retry = TTL / 3
    bound = TTL + ALLOWANCE + max(0, max(skews) - probe_skew) / 1000 + 1.2 * retry + 1.0
    stopped_at = time.monotonic()
    probe = open_store(
        url, clock=SkewedClock(probe_skew), takeover_allowance=ALLOWANCE, clock_skew_bound=ALLOWANCE
    )
    assert isinstance(probe, BaseStore)
    policy = TimingPolicy.for_store(probe, lease="contended", ttl=TTL, retry_every=retry)
    lease = Tenure(probe, "contended", policy=policy, holder="probe", wait=3 * bound).acquire()
    probed_at = time.monotonic()

    events = sorted(
        (Event.from_json(line) for line in log.read_text().splitlines()), key=lambda e: e.t
    )
    events.append(Event(stopped_at, "probe", "all_stopped", deadline=bound))
    events.append(Event(probed_at, "probe", "probe", token=lease.token))
    sink = FencedSink(sink_path)
    events += [Event(w.at, w.holder, "write", token=w.token, ok=w.accepted) for w in sink.history()]
    problems = check_history(events, skip={"tokens"})
    held = [t for t in tenures(events) if t.end > t.start]
    print(
        f"{len(held)} tenures, {freezes} freezes, {len(skews) - PROCESSES} crashes replaced, "
        f"{sum(e.kind == 'fault' for e in events)} faults injected, "
        f"{sum(bool(e.ok) for e in events if e.kind == 'write')} fenced writes accepted"
    )
    assert not problems, f"seed {seed}: {problems[0]}\n{excerpt(events, problems[0])}"
    assert len(held) >= 5, f"seed {seed}: too little contention to mean anything"
    assert len({t.holder for t in held}) >= 3
    assert lease.token > max(t.token for t in held)
