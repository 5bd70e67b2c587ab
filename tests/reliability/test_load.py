"""Load, short: 64 LeaderElectors on one SQLite lease for a few seconds (benchmarks/load.py
runs the 30 s version on SQLite and on a locked moto server)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.load import run_load
from cloudlease.stores.sqlite import SQLiteStore


def test_64_contenders_one_leader_at_a_time_and_requests_bounded_by_the_retry_policy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "leases.db"
    result = run_load(
        lambda: SQLiteStore(path), contenders=64, seconds=5.0, ttl=1.5, retry_period=0.5
    )
    print(result.to_json())
    assert not result.problems, result.problems[:5]
    assert result.tenures >= 2, "no leader changed hands: the run proves nothing"
    assert result.writes > 0
    # Not a timing: a count the retry policy allows for this run's length and turnover.
    assert result.total <= result.bound, (result.total, result.bound)
    # Every contender campaigned (the load was real), at least once per retry period or so.
    assert result.requests["acquire"] >= 64 * 2
