"""Leases handed across invocations, explicit renewal, extend, and the unguarded stand-in."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from cloudlease import ConfigError, LeaseLost, current_lease, hold, single_runner
from cloudlease.stores.memory import MemoryStore
from cloudlease.tenure import Tenure, TimingPolicy
from cloudlease.testing import FakeClock, FaultyStore

TTL = 30.0


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def shelf() -> str:
    """A memory store name of this test's own (stores opened with it share their records)."""
    return f"handoff-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def store(clock: FakeClock, shelf: str) -> FaultyStore:
    return FaultyStore(
        MemoryStore(shelf, clock=clock, takeover_allowance=1.0, clock_skew_bound=1.0)
    )


def test_a_handle_crosses_invocations_and_is_renewed_and_released_there(
    store: FaultyStore, clock: FakeClock, shelf: str
) -> None:
    first = hold(store, "pipeline", ttl=TTL, holder="step-1", release_at_exit=False)
    first.acquire()
    handle = json.loads(json.dumps(first.to_json()))  # through a state machine's JSON
    first.abandon("handed to the next step")
    clock.advance(5)
    other = FaultyStore(
        MemoryStore(shelf, clock=clock, takeover_allowance=1.0, clock_skew_bound=1.0)
    )
    second = Tenure.from_json(other, handle)
    assert (second.name, second.holder, second.token) == ("pipeline", "step-1", first.token)
    assert second.remaining() == pytest.approx(first.lease.deadline - clock.monotonic() - 1.0)
    second.extend(20)
    record = other.get("pipeline")
    assert record is not None and record.expires_at == clock.wall_ms() + 20_000
    assert second.release(strict=True) is True
    record = other.get("pipeline")
    assert record is not None and record.holder == ""


def test_a_stale_handle_is_refused_with_lease_lost(store: FaultyStore, clock: FakeClock) -> None:
    first = hold(store, "pipeline", ttl=TTL, holder="step-1", release_at_exit=False)
    first.acquire()
    handle = first.to_json()
    first.release()
    store.acquire("pipeline", "someone-else", TTL)
    stale = Tenure.from_json(store, handle)
    with pytest.raises(LeaseLost, match="now held by 'someone-else'"):
        stale.renew()
    stale_release = Tenure.from_json(store, handle)
    with pytest.raises(LeaseLost, match="no longer ours to release"):
        stale_release.release(strict=True)
    clock.advance(TTL)
    with pytest.raises(LeaseLost, match="expired"):
        Tenure.from_json(store, handle)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda h: {**h, "kind": "x"}, "not a lease handle"),
        (lambda h: {**h, "version": 9}, "version 9"),
        (lambda h: {**h, "store": "memory://elsewhere"}, "open that store"),
        (lambda h: {**h, "token": "many"}, "damaged"),
    ],
)
def test_a_bad_handle_is_a_config_error_before_any_request(
    store: FaultyStore, change: Any, message: str
) -> None:
    first = hold(store, "pipeline", ttl=TTL, holder="step-1", release_at_exit=False)
    first.acquire()
    before = sum(store.requests.values())
    with pytest.raises(ConfigError, match=message):
        Tenure.from_json(store, change(first.to_json()))
    assert sum(store.requests.values()) == before


def test_manual_renewal_runs_no_thread_and_renews_only_when_asked(
    store: FaultyStore, clock: FakeClock
) -> None:
    import threading

    with hold(store, "job", ttl=TTL, renewal="manual") as held:
        assert not any(t.name.startswith("cloudlease-keeper") for t in threading.enumerate())
        clock.advance(20)
        assert store.requests["renew"] == 0
        assert held.renew() == pytest.approx(TTL - 2.0)  # margin: ttl/10, at most 2 s
        assert store.requests["renew"] == 1
    with pytest.raises(ConfigError, match="renewal must be one of"):
        hold(store, "job", ttl=TTL, renewal="sometimes")


def test_extend_from_inside_a_guarded_call_is_capped_by_the_hard_deadline(
    store: FaultyStore, clock: FakeClock
) -> None:
    policy = TimingPolicy.for_store(store, lease="job", ttl=TTL, max_duration=45)
    held = Tenure(store, "job", policy=policy, holder="a").acquire()
    assert held.extend(600) == pytest.approx(45 - 2.0)  # never past max_duration
    held.release()


def test_unguarded_runs_get_a_local_lease_with_token_0(
    store: FaultyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOUDLEASE_DISABLED", "1")
    seen: list[int] = []

    @single_runner(store=store, name="job", ttl=TTL)
    def job() -> str:
        lease = current_lease()
        lease.ensure()
        lease.extend()  # works locally too
        seen.append(lease.token)
        return "ran"

    assert job() == "ran"
    assert seen == [0]
    assert sum(store.requests.values()) == 0  # the real store is never asked


def test_a_guarded_call_in_manual_renewal_mode_extends_the_lease_itself(
    store: FaultyStore, clock: FakeClock
) -> None:
    import threading

    @single_runner(store=store, name="job", ttl=TTL, renewal="manual")
    def job() -> float:
        assert not any(t.name.startswith("cloudlease-keeper") for t in threading.enumerate())
        clock.advance(25)
        left = current_lease().extend(60)
        assert store.requests["renew"] == 1
        return left

    assert job() == pytest.approx(60 - 2.0)
    with pytest.raises(ConfigError, match="renewal must be one of"):
        single_runner(store=store, renewal="never")
