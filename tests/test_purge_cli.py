"""``cloudlease purge``: deletes a free record only when fencing tokens stay monotonic."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloudlease.clock import SYSTEM_CLOCK
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing import FakeClock
from tests.helpers import run_cli as cli

EX_TEMPFAIL = 75


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "leases.db"


def test_purge_refuses_a_held_record_and_one_granted_just_now(path: Path) -> None:
    store = SQLiteStore(path)
    lease = store.acquire("job", "a", 30)
    held = cli("purge", "--store", f"sqlite:///{path}", "--lease", "job")
    assert held.returncode == EX_TEMPFAIL, held.stderr
    assert "release it first" in held.stderr and "job" in held.stderr
    store.release(lease)
    recent = cli("purge", "--store", f"sqlite:///{path}", "--lease", "job")
    assert recent.returncode == EX_TEMPFAIL, recent.stderr
    assert "retry in" in recent.stderr and "docs/tokens.md" in recent.stderr
    record = store.get("job")  # nothing deleted
    assert record is not None and record.token == lease.token


def test_purge_deletes_a_record_granted_long_ago_and_tokens_still_grow(path: Path) -> None:
    an_hour_ago = FakeClock(wall_ms=SYSTEM_CLOCK.wall_ms() - 3_600_000)
    old = SQLiteStore(path, clock=an_hour_ago)
    old.release(old.acquire("job", "a", 30))
    token = old.get("job").token  # type: ignore[union-attr]
    done = cli("purge", "--store", f"sqlite:///{path}", "--lease", "job")
    assert done.returncode == 0, done.stderr
    assert f"last token {token}" in done.stdout
    store = SQLiteStore(path)
    assert store.get("job") is None
    assert store.acquire("job", "b", 30).token > token
    again = cli("purge", "--store", f"sqlite:///{path}", "--lease", "job")
    assert again.returncode == EX_TEMPFAIL  # held now


@pytest.mark.parametrize("value", ["-1", "nan", "x"])
def test_purge_refuses_a_bad_in_flight_before_any_request(path: Path, value: str) -> None:
    result = cli("purge", "--store", f"sqlite:///{path}", "--lease", "job", "--in-flight", value)
    assert result.returncode == 2, result.stderr
    assert "in" in result.stderr
