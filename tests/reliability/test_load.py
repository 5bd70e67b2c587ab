"""Load, short: 64 LeaderElectors on one SQLite lease for a few seconds (benchmarks/load.py
runs the 30 s version on SQLite and on a locked moto server), and the same harness on a store
broken on purpose, to show that its checker catches a real split brain."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from benchmarks.load import run_load
from cloudlease.errors import LeaseHeld
from cloudlease.records import AcquireRequest, LeaseRecord
from cloudlease.stores.sqlite import SQLiteStore


class GrantsWhileHeld(SQLiteStore):
    """Broken on purpose: every third refused acquire takes the lease from its holder anyway."""

    refusals = itertools.count(1)

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        try:
            return super()._acquire(request)
        except LeaseHeld:
            if next(GrantsWhileHeld.refusals) % 3:
                raise
            self._force_release(request.name, request.now_ms)  # the holder is not told
            return super()._acquire(request)


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


def test_the_same_harness_flags_a_store_that_grants_while_held(tmp_path: Path) -> None:
    path = tmp_path / "leases.db"
    result = run_load(
        lambda: GrantsWhileHeld(path), contenders=16, seconds=3.0, ttl=1.5, retry_period=0.5
    )
    assert result.tenures >= 2
    overlaps = [problem for problem in result.problems if "while" in problem]
    assert overlaps, result.problems[:5]  # "X valid from t while Y was valid until t' > t"
