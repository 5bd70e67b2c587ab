"""Randomized fault histories on every store, each checked for split brain and lost grants.

Default budget: a few hundred histories on memory and SQLite, a dozen or two per emulator
store, fewer on the async sides (``-async``: ``open_async_store`` through ``BlockingStore``).
``CLOUDLEASE_HISTORIES=N`` runs N on memory/SQLite (either side), N/10 on DynamoDB (either
side), Firestore and Azure (a share of the sync ones with faults at the wire, ``WIRE_EVERY``),
N/40 on S3 and GCS;
Semaphore histories (2 or 3 slots, more contenders than slots, the same faults; checked for
"at most N holders at once" and each slot as a lease) take the same shares of
``CLOUDLEASE_HISTORIES`` from smaller defaults (``SEMAPHORE_BUDGET``).
Histories with steals (an operator steals the lease now and then, as ``cloudlease steal``,
with the same faults; checked as usual, the stolen grant ending at the steal, plus "no
renewal of an older grant after a steal") take their shares from ``STEAL_BUDGET``.
``CLOUDLEASE_SEED=S`` starts from seed S (each history's seed is printed with any violation,
and ``CLOUDLEASE_SEED=S CLOUDLEASE_HISTORIES=1`` replays it).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from tests.reliability.conftest import WIRE_EVERY, histories
from tests.reliability.harness import Outcome, Profile, run_history, summary

#: Default histories per store, and the share of CLOUDLEASE_HISTORIES each store runs.
BUDGET = {
    "memory": (300, 1.0),
    "sqlite": (200, 1.0),
    "dynamodb": (16, 1 / 10),
    "firestore": (16, 1 / 10),
    "azure_blob": (12, 1 / 10),
    "s3": (16, 1 / 40),
    "gcs": (16, 1 / 40),
    # The async sides (open_async_store through BlockingStore): a smaller share in CI.
    "memory-async": (100, 1.0),
    "sqlite-async": (100, 1.0),
    "dynamodb-async": (12, 1 / 10),
}


#: Semaphore histories per store: CI's default; the share of CLOUDLEASE_HISTORIES is BUDGET's.
_SEMAPHORE_DEFAULTS = dict(memory=40, sqlite=30, dynamodb=4, firestore=2, azure_blob=4, s3=2, gcs=2)
SEMAPHORE_BUDGET = {name: (n, BUDGET[name][1]) for name, n in _SEMAPHORE_DEFAULTS.items()}


#: Histories with steals per store: the semaphores' shares, at least 4 each in CI (a steal
#: takes a live holder's lease about three times per history).
STEAL_BUDGET = {
    name: (max(default, 4), share) for name, (default, share) in SEMAPHORE_BUDGET.items()
}


def budget(name: str, budgets: dict[str, tuple[int, float]] = BUDGET) -> int:
    default, share = budgets[name]
    if "CLOUDLEASE_HISTORIES" in os.environ:
        return max(1, round(histories(default) * share))
    return default


def first_seed() -> int:
    return int(os.environ.get("CLOUDLEASE_SEED", random.randrange(1 << 31)))


def run_many(
    backend: Any, count: int, seed: int, profile: Callable[[int], Profile | None] = lambda _: None
) -> list[Outcome]:
    outcomes = []
    for n in range(count):
        outcome = run_history(backend, seed + n, profile(seed + n))
        outcomes.append(outcome)
        if outcome.problems:
            pytest.fail(outcome.report(), pytrace=False)
    return outcomes


def run_and_report(
    name: str, backend: Any, count: int, profile: Callable[[int], Profile | None] = lambda _: None
) -> dict[str, Any]:
    """Run ``count`` histories from the first seed, print (and append to
    CLOUDLEASE_HISTORY_REPORT) their totals, fail on the first violation."""
    seed = first_seed()
    print(f"{name}: {count} histories from seed {seed}")
    started = time.monotonic()
    totals = summary(run_many(backend, count, seed, profile))
    totals["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps({name: totals}))
    report = os.environ.get("CLOUDLEASE_HISTORY_REPORT")
    if report:
        with open(report, "a") as out:
            out.write(json.dumps({"store": name, "first_seed": seed, **totals}) + "\n")
    assert totals["violations"] == 0
    return totals


@pytest.mark.parametrize("name", list(BUDGET))
def test_no_history_violates_a_guarantee(name: str, backend_factory: Any) -> None:
    count = budget(name)
    totals = run_and_report(name, backend_factory(name), count)
    exercised(name, totals, count)


def exercised(name: str, totals: dict[str, Any], count: int) -> None:
    """The histories must have exercised what they claim to (else they prove nothing)."""
    assert totals["grants"] >= count * 2
    faults = totals["faults"]
    assert sum(n for kind, n in faults.items() if kind.endswith(":lost")) > 0
    assert sum(n for kind, n in faults.items() if kind.endswith(":transient")) > 0
    assert faults.get("crash", 0) > 0 and faults.get("freeze", 0) > 0
    if count >= 100:
        assert totals["deletions"] > 0
    if name in ("dynamodb", "dynamodb-async", "s3", "gcs"):
        assert faults.get("throttle", 0) > 0
    if name in WIRE_EVERY:  # every WIRE_EVERY-th seed goes through the fault proxy
        assert totals["wire histories"] >= count // WIRE_EVERY[name]
        if totals["wire histories"] >= 4:
            assert sum(n for kind, n in faults.items() if kind.startswith("wire:")) > 0


@pytest.mark.parametrize("name", list(SEMAPHORE_BUDGET))
def test_no_semaphore_history_has_more_than_n_holders(name: str, backend_factory: Any) -> None:
    """Semaphores of 2 or 3 slots (by the seed's parity), up to two contenders more than
    slots (one on Firestore, whose contended writes are slow), the same faults."""
    count = budget(name, SEMAPHORE_BUDGET)
    extra = 1 if name == "firestore" else 2

    def profile(seed: int) -> Profile:
        slots = 2 + seed % 2
        return Profile(slots=slots, contenders=slots + extra)

    totals = run_and_report(f"{name} semaphore", backend_factory(name), count, profile)
    exercised(name, totals, count)
    assert totals["most holders at once"] >= 2  # the slots were held side by side


@pytest.mark.parametrize("name", list(STEAL_BUDGET))
def test_no_history_with_steals_violates_a_guarantee(name: str, backend_factory: Any) -> None:
    """An operator steals about every 2 ttl, from live holders too, through the same faults."""
    count = budget(name, STEAL_BUDGET)
    totals = run_and_report(
        f"{name} steals", backend_factory(name), count, lambda _: Profile(steal_every=2.0)
    )
    exercised(name, totals, count)
    assert totals["steals"] > 0  # about three per history took a live holder's lease


def test_a_seed_replays_the_same_history(backend_factory: Any) -> None:
    backend = backend_factory("sqlite")
    seed = first_seed()
    # Each run holds a lease of its own name (h<seed>-<run>): compare all but the name.
    first = [replace(e, lease="").line() for e in run_history(backend, seed).events]
    again = [replace(e, lease="").line() for e in run_history(backend, seed).events]
    assert first == again, f"seed {seed} did not replay"
    assert len(first) > 50
