"""A process that exits without resigning releases its leases; SIGTERM release is opt-in.

Each case runs a small program in a real subprocess on a SQLite store and then reads the
record: released (holder empty), or still held (left to expire at its ttl).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from cloudlease.stores.sqlite import SQLiteStore

ROOT = Path(__file__).resolve().parent.parent
PRELUDE = """
import os, signal, sys, time
from cloudlease import LeaderElector, hold, release_on_sigterm
from cloudlease.stores.sqlite import SQLiteStore
store = SQLiteStore(sys.argv[1])
def elected():
    import threading
    done = threading.Event()
    node = LeaderElector(store, "job", ttl=60, holder="me", on_elected=lambda held: done.set())
    node.start()
    assert done.wait(30)
    return node
"""


def run(tmp_path: Path, body: str, *, term: bool = False) -> tuple[int, str]:
    script = tmp_path / "program.py"
    script.write_text(PRELUDE + textwrap.dedent(body))
    process = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "leases.db")],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    if term:
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    return process.returncode, out + err


def holder(tmp_path: Path) -> str:
    record = SQLiteStore(tmp_path / "leases.db").get("job")
    assert record is not None
    return record.holder


def test_a_leader_that_exits_without_resigning_releases_the_lease(tmp_path: Path) -> None:
    code, output = run(tmp_path, "elected()\nprint('leading')\n")  # main thread simply ends
    assert code == 0, output
    assert holder(tmp_path) == ""


def test_an_open_hold_is_released_at_exit_but_a_crash_leaves_it_to_expire(
    tmp_path: Path,
) -> None:
    code, output = run(tmp_path, "hold(store, 'job', ttl=60, holder='me').__enter__()\n")
    assert code == 0, output
    assert holder(tmp_path) == ""
    code, _ = run(tmp_path, "hold(store, 'job', ttl=60, holder='me').__enter__()\nos._exit(3)\n")
    assert code == 3
    assert holder(tmp_path) == "me"  # a crash: nothing released, it expires at its ttl


def test_release_at_exit_can_be_turned_off(tmp_path: Path) -> None:
    body = "hold(store, 'job', ttl=60, holder='me', release_at_exit=False).__enter__()\n"
    code, output = run(tmp_path, body)
    assert code == 0, output
    assert holder(tmp_path) == "me"


def test_sigterm_does_not_release_unless_asked(tmp_path: Path) -> None:
    body = """
    elected()
    print("ready", flush=True)
    time.sleep(60)
    """
    code, _ = run(tmp_path, body, term=True)
    assert code == -signal.SIGTERM
    assert holder(tmp_path) == "me"


@pytest.mark.parametrize("previous", ["none", "handler"])
def test_release_on_sigterm_releases_then_chains_to_the_handler_installed_before(
    tmp_path: Path, previous: str
) -> None:
    body = f"""
    if {previous!r} == "handler":
        signal.signal(signal.SIGTERM, lambda *_: (print("server shut down"), sys.exit(5)))
    release_on_sigterm()
    elected()
    print("ready", flush=True)
    time.sleep(60)
    """
    code, output = run(tmp_path, body, term=True)
    assert holder(tmp_path) == ""
    if previous == "handler":
        assert code == 5 and "server shut down" in output
    else:
        assert code == -signal.SIGTERM


def test_the_librarys_threads_leave_sigterm_to_the_main_thread(tmp_path: Path) -> None:
    """The kernel gives a process's SIGTERM to any thread that does not block it, and Python
    runs the handler only once the main thread wakes: a SIGTERM that landed on a renewal
    thread waited out the main thread's ``time.sleep(60)`` (the test above hung on a loaded
    machine, about one run in six). Every cloudlease thread blocks it; the main thread not."""
    body = """
    node = elected()
    import threading
    for _ in range(1000):  # on_elected runs just before the renewal thread starts
        keepers = [t for t in threading.enumerate() if t.name.startswith("cloudlease-keeper")]
        if keepers and keepers[0].native_id:
            break
        time.sleep(0.01)
    def blocked(tid):
        try:
            with open(f"/proc/self/task/{tid}/status") as status:
                mask = next(line for line in status if line.startswith("SigBlk:")).split()[1]
        except FileNotFoundError:
            return None  # a worker that ended meanwhile
        return bool(int(mask, 16) >> (signal.SIGTERM - 1) & 1)
    for thread in threading.enumerate():
        if (state := blocked(thread.native_id)) is not None:
            print(thread.name.split(":")[0], state)
    node.resign()
    """
    code, output = run(tmp_path, body)
    assert code == 0, output
    seen = dict(line.split() for line in output.splitlines())
    assert seen.pop("MainThread") == "False"
    assert {"cloudlease-elector", "cloudlease-keeper"} <= set(seen), seen
    assert set(seen.values()) == {"True"}, seen
