"""Eight processes contend through hold() on one (locked) moto server, with random pauses and
SIGSTOP "GC pauses" of the current holder: one holder at a time, fenced writes in token order.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from cloudlease_dynamodb import DynamoDBStore
from tests.dynamodb.conftest import REGION, TEST_ENV, create_table, new_table_name, session
from tests.emulators import ROOT

WORKERS = 8
RUN_SECONDS = 10.0
TTL = 1.0


def overlaps(intervals: list[tuple[float, float, dict[str, Any]]]) -> list[str]:
    problems = []
    ordered = sorted(intervals, key=lambda interval: interval[0])
    for (_, end, first), (start, _, second) in itertools.pairwise(ordered):
        if start < end:
            problems.append(
                f"{second['holder']} (token {second['token']}) granted at {start:.3f}"
                f" while {first['holder']} (token {first['token']}) held until "
                f"{end:.3f}"
            )
    return problems


@pytest.mark.slow
def test_eight_processes_one_holder_at_a_time_and_fenced_tokens_in_order(
    locked_endpoint: str, tmp_path: Path
) -> None:
    table = create_table(locked_endpoint)
    sink = create_table(locked_endpoint, new_table_name("sink"))
    log = tmp_path / "events.jsonl"
    until = time.monotonic() + RUN_SECONDS
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.dynamodb.contender",
                "--endpoint",
                locked_endpoint,
                "--table",
                table,
                "--sink",
                sink,
                "--log",
                str(log),
                "--until",
                str(until),
                "--ttl",
                str(TTL),
                "--seed",
                str(seed),
            ],
            cwd=ROOT,
            env=dict(os.environ, **TEST_ENV),
            start_new_session=True,
        )
        for seed in range(WORKERS)
    ]
    pids = {worker.pid for worker in workers}
    observer = DynamoDBStore(table, region=REGION, endpoint_url=locked_endpoint, session=session())
    paused = 0
    try:
        time.sleep(3.0)  # let them start and contend
        while time.monotonic() < until - 2.5:
            record = observer.get("contended")
            pid = int(record.holder.rsplit("-", 1)[1]) if record and record.holder else 0
            if pid in pids:
                os.kill(pid, signal.SIGSTOP)  # the holder freezes past its lease
                time.sleep(TTL * 1.8)
                os.kill(pid, signal.SIGCONT)
                paused += 1
            time.sleep(0.7)
        for worker in workers:
            assert worker.wait(timeout=30) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)

    events = [json.loads(line) for line in log.read_text().splitlines()]
    grants = sorted((e for e in events if e["event"] == "grant"), key=lambda e: e["at"])
    writes = [e for e in events if e["event"] == "write"]
    ends = [e for e in events if e["event"] == "end"]

    # at most one holder at a time: [granted, min(exit, local deadline)] never overlap
    intervals = [(e["granted"], min(e["exit"], e["deadline"]), e) for e in ends]
    assert overlaps(intervals) == []
    # tokens strictly increase from grant to grant
    tokens = [g["token"] for g in grants]
    assert tokens == sorted(set(tokens)), tokens
    # the sink never had to refuse an old token: the lease check always did it first
    assert [w for w in writes if w["result"] == "sink_refused"] == []
    # an accepted write never started after a newer token was granted
    for w in (w for w in writes if w["result"] == "ok"):
        newer = [g for g in grants if g["token"] > w["token"] and g["at"] < w["start"]]
        assert not newer, (w, newer[:1])
    final = observer.client.get_item(
        TableName=sink, Key={"name": {"S": "sink"}}, ConsistentRead=True
    )["Item"]
    accepted = [w["token"] for w in writes if w["result"] == "ok"]
    assert int(final["token"]["N"]) == max(accepted)
    print(
        f"grants={len(grants)} holders={len({g['holder'] for g in grants})} paused={paused} "
        f"writes={len(writes)} ok={len(accepted)} "
        f"lease_lost={sum(w['result'] == 'lease_lost' for w in writes)}"
    )
    # it was a real contest: several holders, takeovers after pauses, stale writes refused
    assert len({g["holder"] for g in grants}) >= 3 and len(grants) >= 6
    assert paused >= 1
    assert any(w["result"] == "lease_lost" for w in writes) or paused == 0
