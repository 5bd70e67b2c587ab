"""`cloudlease run`'s command cannot outlive its lease: real processes, real signals.

Each test runs the CLI in a subprocess on a SQLite store with a command that starts workers
under ``sh -c`` (a background and a foreground grandchild), then kills, freezes or robs the
supervisor and checks that every worker is gone, that it was told (TERM) where it could be,
and how the run exited. Waits are bounded polls; no test asserts how long anything took
(benchmarks/supervisor.py measures that).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from cloudlease.stores.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "cloudlease"]
WORKER = """
import os, signal, sys, time
out, mode = sys.argv[1], sys.argv[2]
def on_term(*_):
    open(f"{out}.{os.getpid()}.term", "w").close()
    sys.exit(0)
signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "ignore" else on_term)
open(f"{out}.{os.getpid()}.pid", "w").close()
while True:
    time.sleep(0.02)
"""


def eventually(test: Callable[[], bool], timeout: float = 15.0, what: str = "condition") -> None:
    give_up = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < give_up, f"{what} not reached in {timeout}s"
        time.sleep(0.02)


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped counts as gone).

    A process reaped between the open and the read of its stat file makes the read fail with
    ESRCH (ProcessLookupError): gone too.
    """
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def start_run(url: str, *arguments: str) -> subprocess.Popen[str]:
    """``cloudlease run --store URL --lease job ARGUMENTS...`` in a subprocess."""
    return subprocess.Popen(
        [*CLI, "run", "--store", url, "--lease", "job", *arguments],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )


class Run:
    """One ``cloudlease run`` whose command starts two workers under ``sh -c``."""

    def __init__(
        self,
        runs: list[subprocess.Popen[str]],
        tmp: Path,
        url: str,
        *options: str,
        mode: str = "obey",
        tail: str = "wait",
    ):
        self.tmp = tmp
        worker = tmp / "worker.py"
        worker.write_text(WORKER)
        self.out = tmp / "w"
        run = f"{sys.executable} {worker} {self.out} {mode}"
        self.process = start_run(url, *options, "--", "sh", "-c", f"{run} & {run}; {tail}")
        runs.append(self.process)

    def workers(self) -> list[int]:
        return [int(p.name.split(".")[1]) for p in self.tmp.glob("w.*.pid")]

    def told(self) -> list[int]:
        return [int(p.name.split(".")[1]) for p in self.tmp.glob("w.*.term")]

    def started(self) -> list[int]:
        eventually(lambda: len(self.workers()) == 2, what="two workers running")
        return self.workers()

    def wait(self) -> int:
        return self.process.wait(30)

    def stderr(self) -> str:
        assert self.process.stderr is not None
        return self.process.stderr.read()


@pytest.fixture
def store(sqlite_path: Path) -> SQLiteStore:
    return SQLiteStore(sqlite_path)


@pytest.fixture
def runs(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """The supervisors a test starts; none is left behind, nor any worker, whatever happened."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        process.send_signal(signal.SIGCONT)
        process.kill()
    for path in tmp_path.glob("w.*.pid"):
        pid = int(path.name.split(".")[1])
        if alive(pid):
            os.kill(pid, signal.SIGKILL)


def test_a_killed_supervisors_whole_group_is_stopped(
    tmp_path: Path, url: str, store: SQLiteStore, runs: list[subprocess.Popen[str]]
) -> None:
    run = Run(runs, tmp_path, url, "--ttl", "3")
    workers = run.started()
    run.process.kill()  # SIGKILL: the supervisor can do nothing more
    eventually(lambda: not any(alive(pid) for pid in workers), what="every worker gone")
    assert sorted(run.told()) == sorted(workers)  # TERM first, with the grace left
    record = store.get("job")
    assert record is not None and record.holder != ""  # not released: it expires at its ttl


def test_a_lost_lease_stops_the_group_and_exits_76(
    tmp_path: Path, url: str, store: SQLiteStore, runs: list[subprocess.Popen[str]]
) -> None:
    run = Run(runs, tmp_path, url, "--ttl", "3")
    workers = run.started()
    store.force_release("job")
    store.acquire("job", "intruder", 60)
    assert run.wait() == 76
    assert not any(alive(pid) for pid in workers)
    assert sorted(run.told()) == sorted(workers)
    assert "lost" in run.stderr()


def test_a_command_that_ignores_term_is_killed_before_the_lease_ends(
    tmp_path: Path, url: str, store: SQLiteStore, runs: list[subprocess.Popen[str]]
) -> None:
    run = Run(runs, tmp_path, url, "--ttl", "3", "--grace", "600", mode="ignore")
    workers = run.started()
    store.force_release("job")
    store.acquire("job", "intruder", 60)
    assert run.wait() == 76  # a 600 s grace is clamped to the lease's local deadline
    assert not any(alive(pid) for pid in workers)
    assert run.told() == []


def test_signals_reach_grandchildren_and_the_lease_is_released(
    tmp_path: Path, url: str, store: SQLiteStore, runs: list[subprocess.Popen[str]]
) -> None:
    run = Run(runs, tmp_path, url, "--ttl", "3", tail="wait; exit 4")
    workers = run.started()
    run.process.send_signal(signal.SIGTERM)
    assert run.wait() in (4, 128 + signal.SIGTERM)  # sh's own code, or TERM ended sh first
    assert sorted(run.told()) == sorted(workers)
    record = store.get("job")
    assert record is not None and record.holder == ""


def test_what_the_command_leaves_running_is_stopped_when_it_exits(
    tmp_path: Path, url: str, store: SQLiteStore, runs: list[subprocess.Popen[str]]
) -> None:
    run = Run(runs, tmp_path, url, "--ttl", "3", tail="exit 0")
    # The foreground worker keeps sh waiting; end it, and sh exits, leaving the background one.
    workers = run.started()
    os.kill(max(workers), signal.SIGKILL)
    eventually(lambda: len([pid for pid in workers if alive(pid)]) <= 1, what="one worker left")
    code = run.wait()
    assert code in (0, 128 + signal.SIGKILL)
    assert not any(alive(pid) for pid in workers)
    record = store.get("job")
    assert record is not None and record.holder == ""


def test_the_deadline_file_follows_renewals_and_fails_the_check_when_the_supervisor_freezes(
    tmp_path: Path, url: str, runs: list[subprocess.Popen[str]]
) -> None:
    report = tmp_path / "env.json"
    script = (
        "import json, os, sys, time; "
        f"json.dump(dict(os.environ), open({str(report)!r}, 'w')); "
        "time.sleep(120)"
    )
    process = start_run(url, "--ttl", "1.5", "--", sys.executable, "-c", script)
    runs.append(process)
    eventually(lambda: report.exists() and report.stat().st_size > 0, what="the child's env")
    eventually(lambda: _loads(report) is not None, what="a complete env report")
    env = _loads(report)
    assert env is not None
    path = Path(env["CLOUDLEASE_DEADLINE_FILE"])
    first = json.loads(path.read_text())
    assert first["held"] is True and first["token"] == int(env["CLOUDLEASE_TOKEN"])
    eventually(lambda: json.loads(path.read_text())["deadline_ms"] > first["deadline_ms"])

    def check() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, "check", "--file", str(path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=30,
        )

    held = check()
    assert held.returncode == 0 and held.stdout.split()[0] == env["CLOUDLEASE_TOKEN"]
    assert check_min_remaining(path, 60).returncode == 76  # not held for another minute
    process.send_signal(signal.SIGSTOP)  # frozen: it can stop nothing, nor rewrite the file
    try:
        eventually(lambda: check().returncode == 76, what="the check failing")
        # The file may lag the grant by one poll: frozen just after a renewal, the supervisor
        # still holds a grant up to one ttl newer than the file says. Stay frozen past it.
        time.sleep(1.5)
    finally:
        process.send_signal(signal.SIGCONT)
    try:
        _, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        threads = _thread_states(process.pid)
        process.kill()
        _, stderr = process.communicate()
        pytest.fail(f"the supervisor did not stop: {threads} {stderr}")
    assert process.returncode == 76, stderr  # on waking it finds the lease past its deadline
    assert not path.exists()


def check_min_remaining(path: Path, seconds: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "cloudlease",
            "check",
            "--file",
            str(path),
            "--min-remaining",
            str(seconds),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=30,
    )


def _loads(path: Path) -> dict[str, str] | None:
    try:
        value: dict[str, str] = json.loads(path.read_text())
        return value
    except ValueError:
        return None


def test_the_watchdog_ends_the_group_when_its_supervisor_dies_with_a_reply_unread(
    tmp_path: Path, runs: list[subprocess.Popen[str]]
) -> None:
    """The supervisor's end of the socket closing with data unread resets the connection
    (ECONNRESET, not EOF): that too means the supervisor is gone (it once killed the
    watchdog instead, leaving the command running)."""
    worker = tmp_path / "worker.py"
    worker.write_text(WORKER)
    run = f"{sys.executable} {worker} {tmp_path / 'w'} obey"
    ours, theirs = socket.socketpair()
    deadline_file = str(tmp_path / "no-deadline-file.json")
    command = ["sh", "-c", f"{run} & {run}; wait"]
    arguments = [str(theirs.fileno()), str(os.getpid()), "10", deadline_file, "--", *command]
    watchdog = subprocess.Popen(
        [*CLI[:2], "cloudlease._watchdog", *arguments],
        cwd=ROOT,
        pass_fds=(theirs.fileno(),),
        start_new_session=True,
        text=True,
    )
    runs.append(watchdog)
    theirs.close()
    eventually(lambda: len(list(tmp_path.glob("w.*.pid"))) == 2, what="two workers running")
    workers = [int(p.name.split(".")[1]) for p in tmp_path.glob("w.*.pid")]
    ours.close()  # "started PID" is still unread in it
    eventually(lambda: not any(alive(pid) for pid in workers), what="every worker gone")
    assert watchdog.wait(30) == 128 + signal.SIGTERM  # sh ended by the TERM to the group


def _thread_states(pid: int) -> list[str]:
    """Each thread's state and kernel wait channel (for a failure message)."""
    states = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        stat = (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        wchan = (task / "wchan").read_text() if (task / "wchan").exists() else "?"
        states.append(f"{task.name}:{stat}:{wchan}")
    return states
