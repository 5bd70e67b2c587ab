"""hold(): acquire, renew in the background, step down before expiry, release on exit.

All on a FakeClock: the test thread moves time, the keeper thread reacts.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from cloudlease import ConfigError, LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.keeper import HeldLease, hold
from cloudlease.testing import FakeClock, FaultyStore
from tests.helpers import advance_while, eventually

TTL = 9.0  # renew every 3 s; safety margin 0.9 s, so the local deadline is 8.1 s after start


def test_hold_acquires_renews_every_third_of_the_ttl_and_releases_on_exit(
    store: FaultyStore, clock: FakeClock
) -> None:
    with hold(store, "job", ttl=TTL, holder="me") as held:
        first = held.lease
        assert held.remaining() == pytest.approx(TTL - 0.9)
        for step in range(1, 4):
            clock.wait_for_sleepers(1)
            clock.advance(3.0)
            clock.wait_for_sleepers(1)
            assert store.requests["renew"] == step
            assert held.lease.expires_at == first.expires_at + step * 3000
        assert held.token == first.token
        held.ensure()
    record = store.get("job")
    assert record is not None and record.holder == ""
    assert store.requests["release"] == 1
    with pytest.raises(LeaseLost):
        held.ensure()


def test_keeper_steps_down_at_the_local_deadline_when_renewals_keep_failing(
    store: FaultyStore, clock: FakeClock
) -> None:
    losses: list[HeldLease] = []
    store.fail_next("renew", "transient", times=1000)
    with hold(store, "job", ttl=TTL, holder="me", on_lost=losses.append) as held:
        deadline = held.lease.deadline
        while clock.monotonic() < deadline:
            clock.wait_for_sleepers(1)
            step = clock.next_deadline()
            assert step is not None
            assert held.is_valid()
            clock.advance(step)
        assert held.lost.wait(5)
        eventually(lambda: losses == [held])
        assert "local deadline" in (held.reason or "")
        with pytest.raises(LeaseLost, match="stepped down"):
            held.ensure()
        # retried every renew_every/4 = 0.75 s between the first renewal (2.4-3 s: jitter)
        # and 8.1 s
        assert store.requests["renew"] in (7, 8)
    assert store.requests["release"] == 0  # not ours to release any more


def test_keeper_reports_a_takeover_once_and_the_block_carries_on(
    store: FaultyStore, clock: FakeClock
) -> None:
    calls: list[str] = []
    with hold(store, "job", ttl=TTL, holder="me", on_lost=lambda h: calls.append("lost")) as held:
        store.force_release("job")
        store.acquire("job", "intruder", TTL)
        clock.wait_for_sleepers(1)
        clock.advance(3.0)
        assert held.lost.wait(5)
        assert "intruder" in (held.reason or "")
        assert not held.is_valid()
        assert held.remaining() == 0.0
    assert calls == ["lost"]
    record = store.get("job")
    assert record is not None and record.holder == "intruder"


def test_a_transient_renewal_failure_is_retried_before_the_deadline(
    store: FaultyStore, clock: FakeClock
) -> None:
    with hold(store, "job", ttl=TTL, holder="me") as held:
        store.fail_next("renew", "transient", times=2)
        clock.wait_for_sleepers(1)
        clock.advance(3.0)  # renewal fails
        clock.wait_for_sleepers(1)
        clock.advance(0.75)  # retry fails
        clock.wait_for_sleepers(1)
        clock.advance(0.75)  # retry succeeds
        clock.wait_for_sleepers(1)
        assert store.requests["renew"] == 3
        assert held.is_valid()
        assert held.lease.remaining() == pytest.approx(TTL - 0.9)


def test_hold_fails_fast_when_the_lease_is_held_elsewhere(
    store: FaultyStore, clock: FakeClock
) -> None:
    other = store.acquire("job", "other", TTL)
    with pytest.raises(LeaseHeld) as caught, hold(store, "job", ttl=TTL):
        pytest.fail("the block must not run")
    assert caught.value.record is not None and caught.value.record.holder == "other"
    assert store.get("job") == other.record


def test_hold_waits_for_the_holder_to_expire(store: FaultyStore, clock: FakeClock) -> None:
    other = store.acquire("job", "other", TTL)
    got: list[int] = []
    done = threading.Event()

    def contender() -> None:
        with hold(store, "job", ttl=TTL, wait=60, holder="me") as held:
            got.append(held.token)
        done.set()

    thread = threading.Thread(target=contender)
    thread.start()
    advance_while(clock, lambda: not got)
    assert done.wait(5)
    thread.join(5)
    assert got and got[0] > other.token
    # it retried about once a second and never waited past the holder's expiry
    assert store.requests["acquire"] <= 12


def test_hold_gives_up_waiting_after_wait_seconds(store: FaultyStore, clock: FakeClock) -> None:
    store.acquire("job", "other", 60)
    errors: list[BaseException] = []

    def contender() -> None:
        try:
            with hold(store, "job", ttl=TTL, wait=5, holder="me"):
                pass
        except LeaseHeld as exc:
            errors.append(exc)

    thread = threading.Thread(target=contender)
    thread.start()
    advance_while(clock, thread.is_alive, step=1.0, poll=0.5)
    assert len(errors) == 1
    assert clock.monotonic() <= 1_000.0 + 7


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"ttl": 0}, "ttl"),
        ({"ttl": -3}, "ttl"),
        ({"ttl": 9, "renew_every": 9}, "renew_every"),
        ({"ttl": 9, "renew_every": 0}, "renew_every"),
        ({"ttl": 9, "wait": -1}, "wait"),
    ],
)
def test_bad_timing_is_refused_before_any_request(
    store: FaultyStore, options: dict[str, float], message: str
) -> None:
    with pytest.raises(ConfigError, match=message), hold(store, "job", **options):  # type: ignore[call-overload]
        pytest.fail("the block must not run")
    assert sum(store.requests.values()) == 0


def test_release_failure_on_exit_is_logged_not_raised(
    store: FaultyStore, caplog: pytest.LogCaptureFixture
) -> None:
    with hold(store, "job", ttl=TTL, holder="me"):
        store.fail_next("release", "transient")
    assert "release" in caplog.text
    record = store.get("job")
    assert record is not None and record.holder == "me"  # it will expire at its ttl


def test_ensure_min_remaining(store: FaultyStore, clock: FakeClock) -> None:
    with hold(store, "job", ttl=TTL, holder="me") as held:
        held.ensure(min_remaining=8.0)
        with pytest.raises(LeaseLost, match=r"needed 8\.5s"):
            held.ensure(min_remaining=8.5)


@pytest.fixture(autouse=True)
def _no_stray_keepers() -> Iterator[None]:
    yield
    stray = [t.name for t in threading.enumerate() if t.name.startswith("cloudlease-keeper")]
    assert not stray, f"keeper threads left running: {stray}"


def test_store_unavailable_on_acquire_fails_fast_without_wait(store: FaultyStore) -> None:
    store.fail_next("acquire", "transient")
    with pytest.raises(StoreUnavailable), hold(store, "job", ttl=TTL):
        pytest.fail("the block must not run")


def test_a_grant_that_arrives_after_its_deadline_is_released_and_never_acted_on(
    store: FaultyStore, clock: FakeClock
) -> None:
    store.latency = TTL  # the store answers more slowly than the ttl
    clock.autoadvance = True  # the latency passes on the fake clock
    with (
        pytest.raises(StoreUnavailable, match="after its local deadline"),
        hold(store, "job", ttl=TTL, holder="slow"),
    ):
        pytest.fail("the block must not run on a dead grant")
    record = store.get("job")
    assert record is not None and record.holder == ""  # released for the next contender
