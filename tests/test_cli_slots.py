"""``cloudlease run --slots N``: at most N commands at once, in real subprocesses on SQLite."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from cloudlease.stores.sqlite import SQLiteStore
from tests.helpers import eventually, run_args, start_cli
from tests.helpers import run_cli as cli

#: The command: note its slot and lease, count who runs beside it, wait for ``release``.
CHILD = """
import os, pathlib, sys, time
where = pathlib.Path(sys.argv[1])
me = where / f"run-{os.getpid()}"
me.write_text("")
beside = len(list(where.glob("run-*")))
while not (where / "release").exists():
    time.sleep(0.02)
env = os.environ
seen = [beside, env["CLOUDLEASE_SLOT"], env["CLOUDLEASE_LEASE"], env["CLOUDLEASE_TOKEN"]]
(where / f"seen-{os.getpid()}").write_text(" ".join(map(str, seen)))
me.unlink()
"""


@pytest.fixture
def store(sqlite_path: Path) -> SQLiteStore:
    return SQLiteStore(sqlite_path)


def test_three_runs_on_two_slots_run_two_at_once_and_the_third_waits(
    url: str, store: SQLiteStore, tmp_path: Path
) -> None:
    args = run_args(url, "jobs", sys.executable, "-c", CHILD, str(tmp_path), slots=2, wait=60)
    runs = [start_cli(*args) for _ in range(3)]

    def running() -> int:
        return len(list(tmp_path.glob("run-*")))

    try:
        eventually(lambda: running() == 2, timeout=30, what="two commands running")
        time.sleep(1.0)  # the third keeps waiting: every slot is held
        assert running() == 2 and all(run.poll() is None for run in runs)
        held = {r.name: r.holder for r in store.records() if r.holder}
        assert set(held) == {"jobs.slot-0", "jobs.slot-1"} and len(set(held.values())) == 2
        (tmp_path / "release").touch()
        assert [run.wait(60) for run in runs] == [0, 0, 0]
    finally:
        for run in runs:
            run.kill()
    seen = [path.read_text().split() for path in tmp_path.glob("seen-*")]
    assert len(seen) == 3
    for beside, slot, lease, token in seen:
        assert int(beside) <= 2 and slot in ("0", "1") and lease == f"jobs.slot-{slot}"
        assert int(token) > 0
    assert not any(r.holder for r in store.records())  # each released its slot


def test_run_exits_75_when_every_slot_is_held(url: str, store: SQLiteStore) -> None:
    store.acquire("jobs.slot-0", "a", 60)
    store.acquire("jobs.slot-1", "b", 60)
    result = cli("run", "--store", url, "--lease", "jobs", "--slots", "2", "--", "true")
    assert result.returncode == 75
    assert "semaphore 'jobs': all 2 slots are held" in result.stderr
    assert "'a'" in result.stderr and "'b'" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("slots", ["0", "101"])
def test_bad_slots_exit_2_before_any_request(url: str, store: SQLiteStore, slots: str) -> None:
    result = cli("run", "--store", url, "--lease", "jobs", "--slots", slots, "--", "true")
    assert result.returncode == 2 and "slots must be a whole number from 1 to 100" in result.stderr
    assert store.records() == []


def test_status_lists_the_slots_under_the_semaphores_name(url: str, store: SQLiteStore) -> None:
    store.acquire("jobs.slot-1", "b", 60)
    listed = cli("status", "--store", url, "--json")
    assert [record["name"] for record in json.loads(listed.stdout)] == ["jobs.slot-1"]
    table = cli("status", "--store", url)
    assert "jobs.slot-1" in table.stdout
    store.acquire("jobs.slot-2x", "c", 60)  # not a slot record of 'jobs'
    store.acquire("other", "d", 60)
    mine = cli("status", "--store", url, "--lease", "jobs", "--json")
    assert [record["name"] for record in json.loads(mine.stdout)] == ["jobs.slot-1"]
