"""The lease lifecycle, once: TimingPolicy's rules and a Tenure driven step by step."""

from __future__ import annotations

import ast
import logging
import random
from pathlib import Path

import pytest

from cloudlease import ConfigError, LeaseHeld, LeaseLost, events
from cloudlease.store import Capabilities
from cloudlease.stores.memory import MemoryStore
from cloudlease.tenure import Tenure, TimingPolicy
from cloudlease.testing import FakeClock, FaultyStore
from cloudlease.ticks import done_metadata, is_done

TTL = 9.0


class BlobLikeStore(MemoryStore):
    """A memory store that declares Azure's limits: 15-120 s asked, at most 60 s granted."""

    capabilities = Capabilities(
        min_ttl=15.0,
        max_ttl=120.0,
        longest_grant=60.0,
        whole_seconds=True,
        ttl_rule="blob leases last 15-60 s",
    )


def tenure(store: FaultyStore | MemoryStore, holder: str = "a", **options: object) -> Tenure:
    policy = TimingPolicy.for_store(store, lease="job", ttl=TTL)
    return Tenure(store, "job", policy=policy, holder=holder, **options)  # type: ignore[arg-type]


def test_a_ttl_the_store_cannot_grant_is_planned_as_what_it_grants(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = BlobLikeStore(clock=clock)
    with caplog.at_level(logging.WARNING, logger="cloudlease"):
        policy = TimingPolicy.for_store(store, lease="job", ttl=90.7)
    assert policy.ttl == 60.0
    assert policy.renew_every == 20.0  # a third of what is granted, not of what was asked
    assert "ttl 90.7s is granted as 60s: blob leases last 15-60 s" in caplog.text
    held = Tenure(store, "job", policy=policy, holder="a").acquire()
    assert held.lease.ttl == 60.0
    assert held.lease.deadline == pytest.approx(clock.monotonic() + 60 - 2.0)


@pytest.mark.parametrize(
    ("ttl", "message"),
    [
        (10, "below this store's minimum of 15s: blob leases last 15-60 s"),
        (121, "above this store's maximum of 120s: blob leases last 15-60 s"),
    ],
)
def test_a_ttl_outside_the_stores_limits_is_refused_naming_the_rule(
    clock: FakeClock, ttl: float, message: str
) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        TimingPolicy.for_store(BlobLikeStore(clock=clock), lease="job", ttl=ttl)
    assert "lease 'job'" in str(caught.value)


def test_the_margin_is_a_tenth_of_the_ttl_at_most_2s_unless_configured(store: FaultyStore) -> None:
    policy = TimingPolicy.for_store(store, lease="job", ttl=TTL)
    assert policy.margin_for(9.0) == pytest.approx(0.9)
    assert policy.margin_for(60.0) == 2.0
    configured = TimingPolicy.for_store(store, lease="job", ttl=TTL, safety_margin=3.0)
    assert configured.margin_for(60.0) == 3.0
    assert configured.margin_for(4.0) == 2.0  # never more than half the ttl


def test_a_grant_is_stamped_with_the_margin_from_before_its_request(
    store: FaultyStore, clock: FakeClock
) -> None:
    started = clock.monotonic()
    held = tenure(store).acquire()
    assert held.lease.started == started
    assert held.lease.deadline == pytest.approx(started + TTL - 0.9)
    assert held.remaining() == pytest.approx(TTL - 0.9)


def test_campaign_pauses_stretch_by_jitter_and_wake_just_after_the_holders_expiry(
    store: FaultyStore, clock: FakeClock
) -> None:
    policy = TimingPolicy.for_store(store, lease="job", ttl=TTL, retry_every=2.0, jitter=0.25)
    rng = random.Random(3)
    free = [policy.campaign_pause(rng) for _ in range(500)]
    assert min(free) >= 2.0 and max(free) <= 2.5
    record = store.acquire("job", "other", TTL).record
    clock.advance(TTL - 0.5)  # the holder's lease ends in 0.5 s
    soon = [policy.campaign_pause(rng, record, clock.wall_ms()) for _ in range(500)]
    assert min(soon) > 0.5 and max(soon) <= 0.501 + 0.25 * 2.0


def test_driven_step_by_step_it_renews_every_third_then_steps_down_once(
    store: FaultyStore, clock: FakeClock
) -> None:
    lost: list[str | None] = []
    held = tenure(store, on_lost=lambda t: lost.append(t.reason)).acquire()
    now = clock.monotonic()  # a third of the ttl, shortened by up to the jitter (20 %)
    assert now + 0.8 * TTL / 3 <= held.next_wakeup() <= now + TTL / 3
    assert held.step() and store.requests["renew"] == 0  # nothing due yet
    clock.advance(TTL / 3)
    assert held.step() and store.requests["renew"] == 1
    store.fail_next("renew", "transient")
    clock.advance(TTL / 3)
    assert held.step() and held.is_valid()  # a failed renewal is retried, the lease kept
    assert held.next_wakeup() == pytest.approx(clock.monotonic() + TTL / 12)
    store.acquire("job", "a", TTL)  # a re-entry elsewhere bumps the token: ours is stale
    clock.advance(TTL / 12)
    assert not held.step()
    assert lost == [held.reason] and held.reason is not None and "lost" in held.reason
    with pytest.raises(LeaseLost):
        held.ensure()


def test_a_hard_cap_stops_renewals_and_ends_the_tenure_at_its_deadline(
    store: FaultyStore, clock: FakeClock
) -> None:
    policy = TimingPolicy.for_store(store, lease="job", ttl=TTL, max_duration=5.0)
    held = Tenure(store, "job", policy=policy, holder="a").acquire()
    assert held.lease.ttl == 5.0
    while held.step():
        clock.advance(max(held.next_wakeup() - clock.monotonic(), 0.001))
    assert held.reason == "reached its hard deadline (max_duration); stepped down"
    record = store.get("job")
    assert record is not None and record.expires_at <= clock.wall_ms() + 500  # never past it


def test_release_abandon_and_mark_done_each_end_the_tenure_once(store: FaultyStore) -> None:
    released = tenure(store).acquire()
    released.release()
    released.release()
    assert store.requests["release"] == 1
    record = store.get("job")
    assert record is not None and record.holder == ""

    abandoned = tenure(store).acquire()
    abandoned.abandon("handed to another invocation")
    assert abandoned.reason == "handed to another invocation"
    record = store.get("job")
    assert record is not None and record.holder == "a"  # left to expire, no request

    done = tenure(store, holder="b")
    store.force_release("job")
    done.acquire()
    now = store.clock.wall_ms()
    done.mark_done(done_metadata({}, job="job", now_ms=now, remember=60), 60)
    assert done.reason == "tick done"
    with pytest.raises(LeaseHeld) as caught:
        tenure(store, holder="c").acquire()
    assert caught.value.record is not None and is_done(caught.value.record, now)


def test_a_tenure_is_entered_once(store: FaultyStore) -> None:
    with tenure(store) as held, pytest.raises(ConfigError, match="entered once"):
        held.__enter__()


def test_only_the_lifecycle_module_calls_a_stores_acquire_renew_or_release() -> None:
    """Outside the stores and the lifecycle module (tenure.py: ``TenureCore._send`` is the one
    place; async_tenure.py awaits what it returns), no core module changes a lease on its own
    (a steal included), neither by name nor through ``getattr(store, ...)``."""
    core = Path(__file__).parent.parent / "cloudlease"
    callers = set()
    for path in core.rglob("*.py"):
        relative = path.relative_to(core).as_posix()
        if relative in (
            "tenure.py",
            "store.py",
            "async_store.py",
        ) or relative.startswith(("stores/", "testing/")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("acquire", "steal", "renew", "release")
                and isinstance(node.value, (ast.Name, ast.Attribute))
                and (node.value.id if isinstance(node.value, ast.Name) else node.value.attr)
                in ("store", "_store")
            ):
                callers.add(relative)
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "getattr"
                and node.args
                and ast.unparse(node.args[0]) in ("store", "self.store", "self._store")
            ):
                callers.add(relative)
    assert callers == set()


def test_a_stolen_lease_steps_its_old_holder_down_at_its_next_renewal(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore(clock=clock)
    lost: list[Tenure] = []
    old = tenure(store, "a", on_lost=lost.append).acquire()
    with caplog.at_level(logging.INFO, logger=events.LOGGER):
        stealer = tenure(store, "b")
        grant = stealer.steal()
        assert grant.token > old.token and stealer.is_valid()
        clock.advance(TTL / 2)  # the old holder's renewal is due
        assert old.step() is False
    assert lost == [old] and old.lost.is_set()
    assert old.reason is not None and old.reason.startswith("lost: ")
    assert f"now held by 'b' with token {grant.token}" in old.reason
    with pytest.raises(LeaseLost):
        old.ensure()
    happened = [
        (getattr(r, "transition", None), getattr(r, "holder", None)) for r in caplog.records
    ]
    assert ("stolen", "b") in happened and ("lost", "a") in happened
    assert stealer.step() and stealer.is_valid()  # the stealer renews as any holder


def test_a_done_tick_is_kept_exactly_remember_seconds_whatever_the_takeover_allowance(
    clock: FakeClock,
) -> None:
    store = MemoryStore(clock=clock, takeover_allowance=1.0, clock_skew_bound=1.0)
    done = Tenure(store, "job", policy=TimingPolicy.for_store(store, lease="job", ttl=TTL))
    done.acquire()
    now = clock.wall_ms()
    done.mark_done(done_metadata({}, job="job", now_ms=now, remember=60), 60)
    clock.advance(59.9)
    with pytest.raises(LeaseHeld):
        tenure(store, holder="late").acquire()  # within remember: refused, learns "done"
    clock.advance(0.2)  # just past done_until: free, not held for one more takeover allowance
    assert tenure(store, holder="next").acquire().holder == "next"
