"""Eight processes contend for one lease on one SQLite file, with random freezes and crashes.

Each process logs when it acquired and what deadline it believed in before every fenced
write; the test checks that no two tenures overlap on the host's monotonic clock, that tokens
grow with time, and that the fenced sink only ever accepted non-decreasing tokens.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

from cloudlease.testing.sink import FencedSink, check_fencing
from tests.contention import check_history
from tests.helpers import freeze_and_replace

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 8
SECONDS = 8.0
TTL = 1.0


def test_eight_processes_one_holder_at_a_time_and_fenced_tokens_increase(tmp_path: Path) -> None:
    seed = int(os.environ.get("CLOUDLEASE_SEED", random.randrange(1 << 30)))
    print(f"seed {seed}")
    rng = random.Random(seed)
    url = f"sqlite:///{tmp_path / 'leases.db'}"
    sink_path, log_path = tmp_path / "sink.db", tmp_path / "history.jsonl"
    FencedSink(sink_path).close()
    started = time.monotonic()
    spawned = 0

    def spawn() -> subprocess.Popen[bytes]:
        nonlocal spawned
        spawned += 1
        left = max(0.5, SECONDS - (time.monotonic() - started))
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.contention",
                url,
                str(sink_path),
                str(log_path),
                f"p{spawned}",
                str(left),
                str(rng.randrange(1 << 30)),
                str(TTL),
            ],
            cwd=ROOT,
        )

    freezes = freeze_and_replace(
        spawn, PROCESSES, until=started + SECONDS, rng=rng, longest_freeze=2 * TTL, wait=30
    )

    lines = [json.loads(line) for line in log_path.read_text().splitlines()]
    problems, tenures = check_history(lines)
    sink = FencedSink(sink_path)
    history = sink.history()
    problems += check_fencing(history)
    print(
        f"{tenures} tenures, {freezes} freezes, {spawned - PROCESSES} crashes replaced, "
        f"{sum(w.accepted for w in history)} writes accepted, "
        f"{sum(not w.accepted for w in history)} refused"
    )
    assert not problems, f"seed {seed}: " + "; ".join(problems[:5])
    assert tenures >= 5, f"seed {seed}: too little contention to mean anything"
    assert len({w.holder for w in history if w.accepted}) >= 3
