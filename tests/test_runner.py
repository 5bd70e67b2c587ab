"""@single_runner: skip or wait, renew while running, loss seen and raised, once per tick."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from cloudlease import (
    ConfigError,
    LeaseLost,
    RunSkipped,
    current_lease,
    every,
    single_runner,
)
from cloudlease.keeper import HeldLease
from cloudlease.runner import default_name
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing import FakeClock, FaultyStore
from cloudlease.ticks import last_successes


def test_bare_decorator_runs_with_the_default_store_and_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLOUDLEASE_STORE", "memory://runner-bare")

    @single_runner
    def report(x: int) -> int:
        assert (
            current_lease().name == "tests.test_runner.test_bare_decorator_runs_with_the_"
            "default_store_and_name.report"
        )
        return x * 2

    assert report(21) == 42
    assert report.__name__ == "report"
    record = MemoryStore("runner-bare").get(default_name(report))
    assert record is not None and record.holder == ""  # released, token kept


def test_a_call_that_loses_is_skipped_or_raises(store: FaultyStore) -> None:
    store.acquire("job", "elsewhere", 60)
    ran: list[int] = []

    @single_runner(store=store, name="job", skipped="SKIPPED")
    def quiet() -> str:
        ran.append(1)
        return "ran"

    @single_runner(store=store, name="job", raise_on_skip=True)
    def loud() -> None:
        ran.append(2)

    assert quiet() == "SKIPPED"
    with pytest.raises(RunSkipped) as caught:
        loud()
    assert caught.value.reason == "held" and "elsewhere" in str(caught.value)
    assert ran == []


def test_a_waiting_call_runs_once_the_holder_releases(store: FaultyStore) -> None:
    other = store.acquire("job", "elsewhere", 60)

    @single_runner(store=store, name="job", wait=30)
    def work() -> str:
        return "ran"

    results: list[str] = []
    thread = threading.Thread(target=lambda: results.append(work()))
    thread.start()
    store.clock.wait_for_sleepers(1)  # type: ignore[attr-defined]
    store.release(other)
    store.clock.advance(1.5)  # type: ignore[attr-defined]
    thread.join(5)
    assert results == ["ran"]


def test_the_lease_is_renewed_while_the_function_runs(store: FaultyStore) -> None:
    clock = store.clock
    assert isinstance(clock, FakeClock)

    @single_runner(store=store, name="job", ttl=9, pass_lease=True)
    def long_run(lease: HeldLease) -> int:
        first = lease.lease.expires_at
        for _ in range(3):
            clock.wait_for_sleepers(1)
            clock.advance(3)
        clock.wait_for_sleepers(1)
        lease.ensure()
        return lease.lease.expires_at - first

    assert long_run() == 9000  # type: ignore[call-arg]  # pass_lease supplies lease=
    assert store.requests["renew"] == 3
    assert store.requests["release"] == 1


def test_loss_mid_run_is_visible_to_the_function_and_raised_after_it(
    store: FaultyStore,
) -> None:
    clock = store.clock
    assert isinstance(clock, FakeClock)
    seen: list[bool] = []

    @single_runner(store=store, name="job", ttl=9)
    def victim() -> str:
        lease = current_lease()
        store.force_release("job")
        store.acquire("job", "intruder", 60)  # an injected takeover
        clock.wait_for_sleepers(1)
        clock.advance(3)
        seen.append(lease.lost.wait(5))
        with pytest.raises(LeaseLost):
            lease.ensure()
        return "finished anyway"

    with pytest.raises(LeaseLost, match="lost while the function ran"):
        victim()
    assert seen == [True]
    record = store.get("job")
    assert record is not None and record.holder == "intruder"


def test_the_lease_is_released_when_the_function_raises(store: FaultyStore) -> None:
    @single_runner(store=store, name="job")
    def broken() -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        broken()
    record = store.get("job")
    assert record is not None and record.holder == ""


def test_async_functions_are_guarded_without_blocking_the_loop(store: FaultyStore) -> None:
    @single_runner(store=store, name="job")
    async def job(x: int) -> tuple[int, str]:
        await asyncio.sleep(0)
        return x + 1, current_lease().name

    async def main() -> list[Any]:
        return list(await asyncio.gather(job(1), job(2), return_exceptions=True))

    results = asyncio.run(main())
    assert (2, "job") in results or (3, "job") in results
    record = store.get("job")
    assert record is not None and record.holder == ""


# -- once per tick --------------------------------------------------------------------------


def by_event(event: dict[str, str]) -> str | None:
    return event.get("time")


def test_a_tick_runs_once_and_a_late_duplicate_is_skipped(store: FaultyStore) -> None:
    runs: list[str] = []

    @single_runner(store=store, name="nightly", tick=by_event, skipped="dup")
    def job(event: dict[str, str]) -> str:
        runs.append(event["time"])
        return "ran"

    event = {"time": "2026-01-01T00:00:00Z"}
    assert job(event) == "ran"
    assert job(event) == "dup"  # delivered again after the first finished
    assert job({"time": "2026-01-01T00:05:00Z"}) == "ran"
    assert runs == ["2026-01-01T00:00:00Z", "2026-01-01T00:05:00Z"]
    record = store.get("nightly:2026-01-01T00:00:00Z")
    assert record is not None
    assert record.metadata["done"] is True and record.metadata["job"] == "nightly"


def test_requests_per_tick_are_acquire_plus_one_mark(store: FaultyStore) -> None:
    @single_runner(store=store, name="nightly", tick=by_event)
    def job(event: dict[str, str]) -> None:
        pass

    job({"time": "t1"})
    assert dict(store.requests) == {"acquire": 2}  # acquire, then mark done (no release)
    job({"time": "t1"})
    assert dict(store.requests) == {"acquire": 3}  # the duplicate: one refused acquire


def test_a_failed_run_does_not_mark_the_tick_done(store: FaultyStore) -> None:
    attempts: list[int] = []

    @single_runner(store=store, name="nightly", tick=by_event)
    def flaky(event: dict[str, str]) -> str:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")
        return "ok"

    with pytest.raises(RuntimeError):
        flaky({"time": "t1"})
    assert flaky({"time": "t1"}) == "ok"
    assert flaky({"time": "t1"}) is None
    assert len(attempts) == 2


def test_a_completed_tick_is_forgotten_after_remember(store: FaultyStore) -> None:
    runs: list[int] = []

    @single_runner(store=store, name="nightly", tick=by_event, remember=60)
    def job(event: dict[str, str]) -> None:
        runs.append(1)

    job({"time": "t1"})
    job({"time": "t1"})
    store.clock.advance(61)  # type: ignore[attr-defined]
    job({"time": "t1"})
    assert len(runs) == 2


def test_a_tick_is_required_in_once_per_tick_mode(store: FaultyStore) -> None:
    @single_runner(store=store, name="nightly", tick=by_event)
    def job(event: dict[str, str]) -> None:
        pytest.fail("must not run")

    with pytest.raises(ConfigError, match="needs a tick"):
        job({})
    assert store.records() == []


def test_every_period_ticks_are_windows_of_the_clock(store: FaultyStore) -> None:
    runs: list[str] = []

    @single_runner(store=store, name="sweep", tick=every(timedelta(minutes=5)))
    def sweep() -> None:
        runs.append(current_lease().name)

    sweep()
    store.clock.advance(60)  # type: ignore[attr-defined]
    sweep()  # same window: skipped
    store.clock.advance(300)  # type: ignore[attr-defined]
    sweep()
    assert runs == ["sweep:2026-01-01T00:00:00Z", "sweep:2026-01-01T00:05:00Z"]
    assert every(300, offset=30).window(1_767_225_600_000 + 20_000) == datetime(
        2025, 12, 31, 23, 55, 30, tzinfo=timezone.utc
    )


def test_last_successes_per_job(store: FaultyStore) -> None:
    @single_runner(store=store, name="nightly", tick=by_event)
    def job(event: dict[str, str]) -> None:
        store.clock.advance(1)  # type: ignore[attr-defined]

    job({"time": "t1"})
    job({"time": "t2"})
    latest = last_successes(store.records())
    assert list(latest) == ["nightly"] and latest["nightly"][0] == "t2"


@pytest.mark.parametrize("deliveries", [2, 8])
def test_concurrent_deliveries_of_one_tick_in_threads_run_exactly_once(
    tmp_path: Path, deliveries: int
) -> None:
    store = SQLiteStore(tmp_path / "leases.db")
    runs: list[str] = []
    start = threading.Barrier(deliveries)

    @single_runner(store=store, name="nightly", tick=by_event)
    def job(event: dict[str, str]) -> None:
        runs.append(threading.current_thread().name)
        time.sleep(0.05)

    def deliver() -> None:
        start.wait()
        job({"time": "t1"})

    threads = [threading.Thread(target=deliver, name=f"d{i}") for i in range(deliveries)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(runs) == 1
    job({"time": "t1"})
    assert len(runs) == 1


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "bad name"}, "lease name"),
        ({"ttl": 0}, "ttl"),
        ({"wait": -1}, "wait"),
        ({"remember": 0}, "remember"),
        ({"tick": "daily"}, "tick must be"),
        ({"store": 42}, "store must be"),
    ],
)
def test_bad_options_are_refused_at_decoration(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        single_runner(**options)


def test_a_tick_that_makes_the_name_too_long_is_refused_before_any_request(
    store: FaultyStore,
) -> None:
    @single_runner(store=store, name="n" * 190, tick=by_event)
    def job(event: dict[str, str]) -> None:
        pytest.fail("must not run")

    with pytest.raises(ConfigError, match="lease name"):
        job({"time": "2026-01-01T00:00:00Z"})
    assert sum(store.requests.values()) == 0


def test_mark_done_failure_is_logged_not_raised(
    store: FaultyStore, caplog: pytest.LogCaptureFixture
) -> None:
    @single_runner(store=store, name="nightly", tick=by_event)
    def job(event: dict[str, str]) -> str:
        store.fail_next("acquire", "transient")
        return "ok"

    with caplog.at_level(logging.WARNING, logger="cloudlease"):
        assert job({"time": "t1"}) == "ok"
    assert "could not mark tick" in caplog.text


def test_a_done_tick_is_not_re_entered_by_the_same_holder_id(store: FaultyStore) -> None:
    runs: list[int] = []

    @single_runner(store=store, name="nightly", tick=by_event, holder="task-0")
    def job(event: dict[str, str]) -> None:
        runs.append(1)

    job({"time": "t1"})
    job({"time": "t1"})  # a retry with the same holder id (Cloud Run task, Lambda request id)
    assert runs == [1]


class ShortLeaseStore(MemoryStore):
    """Grants at most 60 s, as Azure's blob leases do: a done mark cannot outlive it as a
    lease, so the runner reads the tick's record before acquiring."""

    capabilities = MemoryStore.capabilities.replace(max_ttl=60.0)


def test_a_store_with_short_leases_reads_a_ticks_record_first_and_skips_a_done_tick(
    clock: FakeClock,
) -> None:
    store = FaultyStore(ShortLeaseStore(clock=clock))
    runs: list[str] = []

    @single_runner(store=store, name="nightly", tick=by_event, remember=3600, skipped="dup")
    def job(event: dict[str, str]) -> str:
        runs.append(event["time"])
        return "ran"

    assert job({"time": "t1"}) == "ran"
    store.requests.clear()
    clock.advance(120)  # past every lease the store could grant, within remember
    assert job({"time": "t1"}) == "dup"
    assert dict(store.requests) == {"get": 1}  # the read decided: no acquire
    assert runs == ["t1"]
