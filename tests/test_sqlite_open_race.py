"""Processes that open a new SQLite file at the same instant all get a working store.

SQLite refuses a concurrent switch to WAL with "database is locked" at once (no busy wait), so
before ``use_wal`` retried it, about one round in three of this test failed (the demo's workers
hit it in CI, and ``SQLiteStore`` reported it as "cannot open the SQLite file").
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROCESSES = 6
ROUNDS = 15
ROUND_GAP = 0.3

OPENER = """
import sys, time
from pathlib import Path
from cloudlease._fenced_sink import FencedSink
from cloudlease.stores.sqlite import SQLiteStore

workdir, first = Path(sys.argv[1]), float(sys.argv[2])
rounds, gap = int(sys.argv[3]), float(sys.argv[4])
failures = 0
for index in range(rounds):
    start = first + index * gap
    time.sleep(max(0.0, start - time.time() - 0.005))
    while time.time() < start:
        pass  # spin the last milliseconds: every process opens at the same instant
    try:
        SQLiteStore(workdir / f"leases-{index}.db").init()
        FencedSink(workdir / f"sink-{index}.db").close()
    except Exception as exc:
        failures += 1
        print(f"round {index}: {exc!r}", flush=True)
sys.exit(1 if failures else 0)
"""


def test_processes_opening_a_new_file_together_all_succeed(tmp_path: Path) -> None:
    first = time.time() + 2.0  # every opener has started (and imported) by then
    openers = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(tmp_path), str(first), str(ROUNDS), str(ROUND_GAP)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    failed = [out for out, _ in (opener.communicate(timeout=120) for opener in openers) if out]
    codes = [opener.returncode for opener in openers]
    assert codes == [0] * PROCESSES, "".join(failed)
    assert len(list(tmp_path.glob("leases-*.db"))) == ROUNDS
