"""Once-per-tick on Azure: the done marker outlives the 60 s blob lease (read before acquire)."""

from __future__ import annotations

from typing import Any

from cloudlease import RunSkipped, current_lease, single_runner
from cloudlease.testing import FakeClock
from tests.azure_blob.azurite import Azurite
from tests.azure_blob.test_conformance import break_all


def test_a_completed_tick_stays_done_after_its_blob_lease_is_gone(azurite: Azurite) -> None:
    clock = FakeClock()
    store, transport = azurite.store(azurite.new_container(), clock=clock)
    runs: list[str] = []

    @single_runner(
        store=store, name="nightly", ttl=15, tick=lambda event: event["time"], raise_on_skip=True
    )
    def job(event: dict[str, Any]) -> None:
        runs.append(current_lease().name)

    job({"time": "2026-01-01T00:00:00Z"})
    break_all(store.container_client)  # the server-side lease is gone, as after its 60 s
    clock.advance(3600)
    transport.reset()
    try:
        job({"time": "2026-01-01T00:00:00Z"})
    except RunSkipped as exc:
        assert exc.reason == "done"
    else:
        raise AssertionError("a completed tick ran again")
    assert transport.total() == 1  # one read told it the tick was done
    job({"time": "2026-01-01T00:05:00Z"})
    assert runs == ["nightly:2026-01-01T00:00:00Z", "nightly:2026-01-01T00:05:00Z"]


def test_a_delivery_during_a_run_and_one_after_it_are_both_skipped(azurite: Azurite) -> None:
    container = azurite.new_container()
    store_a, _ = azurite.store(container)
    store_b, _ = azurite.store(container)
    runs: list[str] = []
    inner: list[Any] = []

    @single_runner(store=store_b, name="nightly", ttl=15, tick=lambda e: e["time"], skipped="skip")
    def duplicate(event: dict[str, Any]) -> str:
        runs.append("duplicate")
        return "ran"

    @single_runner(store=store_a, name="nightly", ttl=15, tick=lambda e: e["time"], skipped="skip")
    def first(event: dict[str, Any]) -> str:
        runs.append("first")
        inner.append(duplicate(event))  # delivered again while the first one runs
        return "ran"

    assert first({"time": "T"}) == "ran"
    assert inner == ["skip"]
    assert duplicate({"time": "T"}) == "skip"  # and again after it completed
    assert runs == ["first"]
