"""The cloudlease command, end to end in subprocesses, on a SQLite store."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudlease.errors import LeaseHeld, LeaseLost
from cloudlease.stores.sqlite import SQLiteStore
from tests.helpers import run_args, start_cli
from tests.helpers import run_cli as cli


@pytest.fixture
def store(sqlite_path: Path) -> SQLiteStore:
    return SQLiteStore(sqlite_path)


def test_run_exposes_the_lease_to_the_child_and_returns_its_exit_code(
    url: str, store: SQLiteStore
) -> None:
    script = (
        "import os, sys; "
        "print(os.environ['CLOUDLEASE_LEASE'], os.environ['CLOUDLEASE_HOLDER'], "
        "os.environ['CLOUDLEASE_TOKEN'], os.environ['CLOUDLEASE_DEADLINE']); sys.exit(3)"
    )
    result = cli(*run_args(url, "nightly", sys.executable, "-c", script, holder="h1"))
    assert result.returncode == 3, result.stderr
    lease, holder, token, deadline = result.stdout.split()
    assert (lease, holder) == ("nightly", "h1")
    record = store.get("nightly")
    assert record is not None
    assert record.holder == "" and record.token == int(token)  # released, token kept
    assert int(deadline) > record.acquired_at


def test_run_exits_75_naming_the_holder_when_held_elsewhere(url: str, store: SQLiteStore) -> None:
    store.acquire("nightly", "someone-else", 60)
    result = cli("run", "--store", url, "--lease", "nightly", "--", "true")
    assert result.returncode == 75
    assert "someone-else" in result.stderr
    assert result.stderr.count("\n") == 1
    skipped = cli(
        "run", "--store", url, "--lease", "nightly", "--skip-exit-code", "0", "--", "true"
    )
    assert skipped.returncode == 0


def test_run_waits_for_the_lease_with_wait(url: str, store: SQLiteStore) -> None:
    store.acquire("nightly", "someone-else", 1.0)
    result = cli("run", "--store", url, "--lease", "nightly", "--wait", "30", "--", "true")
    assert result.returncode == 0, result.stderr
    record = store.get("nightly")
    assert record is not None and record.transitions == 2


def force_then_acquire(url: str, store: SQLiteStore) -> None:
    store.force_release("nightly")
    store.acquire("nightly", "intruder", 60)


def steal_and_hold(url: str, store: SQLiteStore) -> None:
    stole = cli("steal", "--store", url, "--lease", "nightly", "--holder", "intruder", "--hold")
    assert stole.returncode == 0, stole.stderr


@pytest.mark.parametrize("take_over", [force_then_acquire, steal_and_hold])
def test_run_stops_the_child_when_the_lease_is_lost(
    url: str, store: SQLiteStore, take_over: Callable[[str, SQLiteStore], None]
) -> None:
    args = ["--store", url, "--lease", "nightly", "--ttl", "1.5", "--grace", "5"]
    child = start_cli("run", *args, "--", "sleep", "60", stderr=subprocess.PIPE)
    try:
        give_up = time.monotonic() + 20
        while (record := store.get("nightly")) is None or record.holder == "":
            assert time.monotonic() < give_up, "cloudlease run never acquired"
            time.sleep(0.05)
        take_over(url, store)
        code = child.wait(20)
    finally:
        child.kill()
    assert code == 76  # the documented "lease lost" code, whatever the command returned
    assert child.stderr is not None
    assert "lost" in child.stderr.read()
    record = store.get("nightly")
    assert record is not None and record.holder == "intruder"


def test_run_forwards_sigterm_to_the_child_and_releases(url: str, store: SQLiteStore) -> None:
    script = (
        "import signal, sys, time; "
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7)); "
        "print('ready', flush=True); time.sleep(60)"
    )
    args = ["--store", url, "--lease", "nightly", "--", sys.executable, "-c", script]
    child = start_cli("run", *args, stdout=subprocess.PIPE)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        child.send_signal(signal.SIGTERM)
        code = child.wait(20)
    finally:
        child.kill()
    assert code == 7
    record = store.get("nightly")
    assert record is not None and record.holder == ""


def test_status_json_lists_records_with_the_documented_keys(url: str, store: SQLiteStore) -> None:
    store.acquire("b-job", "h1", 60, {"host": "x"})
    store.release(store.acquire("a-job", "h2", 60))
    result = cli("status", "--store", url, "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [row["name"] for row in rows] == ["a-job", "b-job"]
    assert {"name", "holder", "token", "expires_at", "transitions", "metadata"} <= set(rows[0])
    assert rows[0]["holder"] is None
    assert rows[1]["holder"] == "h1" and rows[1]["metadata"] == {"host": "x"}
    one = json.loads(cli("status", "--store", url, "--lease", "b-job", "--json").stdout)
    assert [row["name"] for row in one] == ["b-job"]


def test_status_table_shows_holder_and_expiry(url: str, store: SQLiteStore) -> None:
    store.acquire("b-job", "h1", 60)
    result = cli("status", "--store", url)
    assert result.returncode == 0
    header, row = result.stdout.splitlines()
    assert header.split()[:3] == ["NAME", "HOLDER", "TOKEN"]
    assert row.split()[:2] == ["b-job", "h1"]
    assert row.split()[3].endswith("s")


def test_status_watch_lists_count_times_and_json_prints_one_object_a_line(
    url: str, store: SQLiteStore
) -> None:
    store.acquire("b-job", "h1", 60)
    args = ["status", "--store", url, "--watch", "--interval", "0.01", "--count", "2"]
    listed = cli(*args)
    assert listed.returncode == 0, listed.stderr
    assert [line.split(" at ")[0] for line in listed.stdout.splitlines() if " at " in line] == [
        url,
        url,
    ]
    assert "(listing 2)" in listed.stdout and "CHANGE" in listed.stdout
    lines = cli(*args, "--json").stdout.splitlines()
    assert [json.loads(line)["records"][0]["holder"] for line in lines] == ["h1", "h1"]
    assert json.loads(lines[1])["changes"] == {}


def test_release_needs_force_then_clears_and_keeps_the_token(url: str, store: SQLiteStore) -> None:
    lease = store.acquire("stuck", "crashed-host", 600)
    refused = cli("release", "--store", url, "--lease", "stuck")
    assert refused.returncode == 2 and "--force" in refused.stderr
    assert store.get("stuck") == lease.record
    result = cli("release", "--store", url, "--lease", "stuck", "--force")
    assert result.returncode == 0 and "crashed-host" in result.stdout
    record = store.get("stuck")
    assert record is not None and (record.holder, record.token) == ("", lease.token)


def test_steal_cuts_the_holder_off_with_a_greater_token_then_releases(
    url: str, store: SQLiteStore
) -> None:
    old = store.acquire("stuck", "wedged-host", 600)
    result = cli("steal", "--store", url, "--lease", "stuck", "--holder", "operator")
    assert result.returncode == 0, result.stderr
    record = store.get("stuck")
    assert record is not None and record.holder == "" and record.token > old.token
    assert f"token {record.token} for 'operator'" in result.stdout
    assert "released: free for the next contender" in result.stdout
    with pytest.raises(LeaseLost, match=f"acquired anew \\(token {record.token}\\) and released"):
        store.renew(old)
    assert store.acquire("stuck", "next", 60).token > record.token


def test_steal_exits_75_writing_nothing_when_the_lease_changes_between_its_read_and_write(
    url: str,
    store: SQLiteStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The race ``StealConflict`` exists for, through ``main()``: right after the steal's read
    (a spy on the SQLite store's read), another process's release and a third holder's
    acquisition land; the steal's conditional write then finds another holder and token."""
    from cloudlease.cli import main

    old = store.acquire("stuck", "wedged-host", 600)
    read = SQLiteStore._get
    raced: list[int] = []

    def read_then_race(self: SQLiteStore, name: str) -> object:
        seen = read(self, name)
        if self is not store and not raced:
            store.release(old)
            raced.append(SQLiteStore(store.path).acquire("stuck", "newcomer", 600).token)
        return seen

    monkeypatch.setattr(SQLiteStore, "_get", read_then_race)
    code = main(["steal", "--store", url, "--lease", "stuck", "--holder", "operator"])
    assert code == 75 and raced
    assert "changed while it was being stolen" in capsys.readouterr().err
    record = store.get("stuck")
    assert record is not None and (record.holder, record.token) == ("newcomer", raced[0])


def test_steal_with_hold_keeps_the_lease_for_its_ttl(url: str, store: SQLiteStore) -> None:
    old = store.acquire("stuck", "wedged-host", 600)
    result = cli("steal", "--store", url, "--lease", "stuck", "--hold", "--ttl", "120")
    assert result.returncode == 0, result.stderr
    record = store.get("stuck")
    assert record is not None and record.holder.startswith("steal:")
    assert record.token > old.token and "kept until epoch ms" in result.stdout
    assert record.expires_at - record.acquired_at == 120_000
    with pytest.raises(LeaseHeld):
        store.acquire("stuck", "wedged-host", 60)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--lease", "bad name"], "lease name"),
        (["--lease", "j", "--ttl", "-1"], "ttl"),
        (["--lease", "j", "--metadata", "[1]"], "JSON object"),
        (["--lease", "j", "--holder", ""], "holder"),
    ],
)
def test_steal_refuses_bad_input_with_exit_2_before_any_request(
    tmp_path: Path, args: list[str], expected: str
) -> None:
    unreachable = f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}"  # a request: exit 69
    result = cli("steal", "--store", unreachable, *args)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr


def test_status_names_the_store_with_its_options(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'leases.db'}?table=jobs"
    result = cli("status", "--store", url)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"no leases in {url}"


def test_init_creates_the_sqlite_store_and_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new.db'}"
    assert cli("init", "--store", url).returncode == 0
    assert (tmp_path / "new.db").exists()
    assert cli("init", "--store", url).returncode == 0


def test_store_comes_from_cloudlease_store_when_not_given(url: str, store: SQLiteStore) -> None:
    store.acquire("job", "h1", 60)
    result = cli("status", "--json", env=dict(os.environ, CLOUDLEASE_STORE=url))
    assert [row["name"] for row in json.loads(result.stdout)] == ["job"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["status", "--store", "nosuchscheme://x"], "no store is installed for scheme"),
        (["status", "--store", "dynamo"], "cannot parse store URL"),
        (["status", "--store", "sqlite://"], "cannot parse SQLite store URL"),
        (["status", "--store", "sqlite:///x.db?colour=red"], "unknown option"),
        (["run", "--store", "memory://", "--lease", "bad name", "--", "true"], "lease name"),
        (["run", "--store", "memory://", "--lease", "j", "--ttl", "-1", "--", "true"], "ttl"),
        (["run", "--store", "memory://", "--lease", "j"], "no command given"),
        (
            ["run", "--store", "memory://", "--lease", "j", "--metadata", "[1]", "--", "true"],
            "JSON object",
        ),
        (["status"], "no store"),
        (["status", "--store", "memory://", "--count", "2"], "--count applies to --watch"),
        (["status", "--store", "memory://", "--interval", "1"], "--interval applies to --watch"),
        (["status", "--store", "memory://", "--watch", "--count", "0"], "--count must be"),
        (["status", "--store", "memory://", "--watch", "--interval", "0"], "--interval must be"),
        (["run", "--store", "memory://", "--lease", "j", "--ttl", "1e12", "--", "true"], "ttl"),
        (["run", "--store", "memory://", "--lease", "j", "--ttl", "1e9", "--", "true"], "ttl"),
        (["run", "--store", "memory://", "--lease", "j", "--ttl", "1e300", "--", "true"], "ttl"),
        (["run", "--store", "memory://", "--lease", "j", "--ttl", "0.001", "--", "true"], "ttl"),
        (["run", "--store", "memory://", "--lease", "j", "--grace", "nan", "--", "true"], "grace"),
        (
            [
                "run",
                "--store",
                "memory://",
                "--lease",
                "j",
                "--skip-exit-code",
                "300",
                "--",
                "true",
            ],
            "0-255",
        ),
        (["run", "--store", "memory://", "--lease", "j", "--", "no-such-cmd-x"], "cannot run"),
        (["check", "--file", ""], "no deadline file"),
    ],
)
def test_bad_input_exits_2_with_one_clear_line(args: list[str], expected: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CLOUDLEASE_STORE"}
    result = cli(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_command_that_cannot_run_is_refused_before_anything_is_acquired(
    tmp_path: Path, url: str, store: SQLiteStore
) -> None:
    script = tmp_path / "job.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o644)  # not executable
    result = cli("run", "--store", url, "--lease", "job", "--", str(script))
    assert result.returncode == 2, result.stderr
    assert "cannot run" in result.stderr and "nothing was acquired" in result.stderr
    assert store.get("job") is None


def test_missing_directory_exits_69_with_the_fix(tmp_path: Path) -> None:
    result = cli("status", "--store", f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    assert result.returncode == 69
    assert "does not exist" in result.stderr
