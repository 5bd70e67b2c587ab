"""How fast `cloudlease run`'s command group is gone: after a SIGKILL of the supervisor, and
after the lease is lost (against how long the lease still had on the store).

    .venv/bin/python -m benchmarks.supervisor --trials 10

Each trial runs ``cloudlease run --ttl 3 -- sh -c "worker & worker; wait"`` on a SQLite store
(two Python workers: a background and a foreground grandchild) and polls /proc every 5 ms.
Prints one JSON line per scenario: p50 / max seconds until every worker is gone, and, for the
loss, the smallest slack left before the lease would have expired on the store.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cloudlease.stores.sqlite import SQLiteStore

CLI = [sys.executable, "-m", "cloudlease"]
WORKER = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
open(f"{sys.argv[1]}.{os.getpid()}.pid", "w").close()
while True:
    time.sleep(0.02)
"""


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def start(tmp: Path) -> tuple[subprocess.Popen[bytes], list[int], Path]:
    worker = tmp / "worker.py"
    worker.write_text(WORKER)
    run = f"{sys.executable} {worker} {tmp / 'w'}"
    command = f"{run} & {run}; wait"
    url = f"sqlite:///{tmp / 'l.db'}?timeout=30"  # a renewal waits for a locked file
    process = subprocess.Popen(
        [*CLI, "run", "--store", url, "--lease", "job", "--ttl", "3", "--", "sh", "-c", command],
        stderr=subprocess.DEVNULL,
    )
    give_up = time.monotonic() + 30
    while len(pids := [int(p.name.split(".")[1]) for p in tmp.glob("w.*.pid")]) < 2:
        if time.monotonic() > give_up:
            raise RuntimeError("the workers never started")
        time.sleep(0.01)
    return process, pids, tmp / "l.db"


def gone_after(pids: list[int], since: float) -> float:
    while any(alive(pid) for pid in pids):
        time.sleep(0.005)
    return time.monotonic() - since


def trial(scenario: str) -> tuple[float, float | None]:
    """Seconds until every worker is gone, and (when the store stalls) the seconds the lease
    still had on the store at that moment."""
    with tempfile.TemporaryDirectory() as tmp:
        process, pids, db = start(Path(tmp))
        store = SQLiteStore(db)
        slack = None
        if scenario == "supervisor SIGKILL":
            since = time.monotonic()
            process.kill()
            took = gone_after(pids, since)
        elif scenario == "lease taken over":
            store.force_release("job")
            since = time.monotonic()
            store.acquire("job", "intruder", 60)
            took = gone_after(pids, since)
        else:  # the store stalls: renewals hang until the holder's local deadline passes
            record = store.get("job")
            assert record is not None
            lock = sqlite3.connect(db, isolation_level=None)
            lock.execute("BEGIN EXCLUSIVE")
            since = time.monotonic()
            took = gone_after(pids, since)
            slack = (record.expires_at - time.time() * 1000) / 1000
            lock.execute("ROLLBACK")
            lock.close()
            # the expiry read before the stall may have been renewed once more meanwhile:
            # this slack is then a lower bound
        process.wait(60)
        return took, slack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    args = parser.parse_args()
    for scenario in ("supervisor SIGKILL", "lease taken over", "store stalls"):
        results = [trial(scenario) for _ in range(args.trials)]
        times = [took for took, _ in results]
        slacks = [slack for _, slack in results if slack is not None]
        row: dict[str, object] = {
            "scenario": scenario,
            "trials": args.trials,
            "gone_p50_s": round(statistics.median(times), 3),
            "gone_max_s": round(max(times), 3),
        }
        if slacks:
            row["min_slack_before_store_expiry_s"] = round(min(slacks), 3)
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
