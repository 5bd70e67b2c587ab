"""LeaderElector on a FakeClock: campaign, lead, lose, step down, resign, jitter, config."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from cloudlease import ConfigError, LeaderElector
from cloudlease.keeper import HeldLease
from cloudlease.testing import FakeClock, FaultyStore
from tests.helpers import eventually

TTL = 9.0


class Events:
    """Collects the callbacks of one elector."""

    def __init__(self) -> None:
        self.log: list[tuple[str, object]] = []
        self.changed = threading.Condition()

    def add(self, kind: str) -> Callable[[object], None]:
        def record(value: object) -> None:
            with self.changed:
                self.log.append((kind, value.token if isinstance(value, HeldLease) else value))
                self.changed.notify_all()

        return record

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.log]


def elector(store: FaultyStore, name: str, events: Events, **options: object) -> LeaderElector:
    return LeaderElector(
        store,
        "leader",
        ttl=TTL,
        retry_period=2.0,
        holder=name,
        on_elected=events.add("elected"),
        on_lost=events.add("lost"),
        on_leader_changed=events.add("leader"),
        rng=random.Random(7),
        **options,  # type: ignore[arg-type]
    )


@contextmanager
def elected(store: FaultyStore, events: Events) -> Iterator[LeaderElector]:
    """Elector "a" on ``store``, started and elected; it resigns when the block ends."""
    node = elector(store, "a", events).start()
    try:
        eventually(lambda: node.is_leader)
        yield node
    finally:
        node.resign()


def test_a_lone_elector_is_elected_and_renews(store: FaultyStore, clock: FakeClock) -> None:
    events = Events()
    node = elector(store, "a", events).start()
    try:
        eventually(lambda: events.kinds() == ["leader", "elected"])
        assert node.is_leader
        assert node.leader == "a"
        clock.wait_for_sleepers(1)
        clock.advance(3.0)
        clock.wait_for_sleepers(1)
        assert store.requests["renew"] == 1
    finally:
        node.resign()
    assert events.kinds() == ["leader", "elected", "lost", "leader"]
    assert not node.is_leader
    record = store.get("leader")
    assert record is not None and record.holder == ""


def test_two_electors_one_leader_and_the_follower_takes_over_after_resign(
    store: FaultyStore, clock: FakeClock
) -> None:
    events_a, events_b = Events(), Events()
    a = elector(store, "a", events_a).start()
    eventually(lambda: a.is_leader)
    b = elector(store, "b", events_b).start()
    try:
        eventually(lambda: b.leader == "a")
        assert not b.is_leader
        assert events_b.kinds() == ["leader"]
        a.resign()
        record = store.get("leader")
        assert record is not None and record.holder == ""
        clock.wait_for_sleepers(1)
        clock.advance(clock.next_deadline() or 0)
        eventually(lambda: events_b.kinds() == ["leader", "leader", "elected"])
        assert b.is_leader and b.leader == "b"
        assert events_b.log[:2] == [("leader", "a"), ("leader", "b")]
    finally:
        a.resign()
        b.resign()


def test_leader_steps_down_before_expiry_when_renewals_fail(
    store: FaultyStore, clock: FakeClock
) -> None:
    events = Events()
    with elected(store, events) as node:
        lease = node.held.lease if node.held else None
        assert lease is not None
        store.fail_next("renew", "transient", times=100)
        store.fail_next("acquire", "transient", times=100)
        while clock.monotonic() < lease.deadline:
            clock.wait_for_sleepers(1)
            clock.advance(clock.next_deadline() or 0.1)
            if clock.monotonic() < lease.deadline:
                assert node.is_leader
        eventually(lambda: "lost" in events.kinds())
        assert not node.is_leader
        # it stepped down at its local deadline, before the store's expiry
        assert clock.wall_ms() < lease.expires_at


def test_takeover_is_reported_as_lost_and_leader_changed(
    store: FaultyStore, clock: FakeClock
) -> None:
    events = Events()
    with elected(store, events) as node:
        store.force_release("leader")
        store.acquire("leader", "intruder", TTL)
        clock.wait_for_sleepers(1)
        clock.advance(3.0)
        eventually(lambda: len(events.log) == 5)
        assert events.kinds() == ["leader", "elected", "lost", "leader", "leader"]
        assert node.leader == "intruder"
        assert events.log[-1] == ("leader", "intruder")
        assert not node.is_leader


def test_campaign_retries_are_jittered_within_bounds(store: FaultyStore) -> None:
    node = LeaderElector(
        store, "leader", ttl=TTL, retry_period=2.0, jitter=0.25, rng=random.Random(1)
    )
    delays = [node.next_retry_delay() for _ in range(2000)]
    assert min(delays) >= 2.0
    assert max(delays) <= 2.5
    assert min(delays) < 2.01 and max(delays) > 2.49  # the whole range is used
    assert len({round(d, 3) for d in delays}) > 100


def test_resign_while_following_stops_the_campaign(store: FaultyStore, clock: FakeClock) -> None:
    store.acquire("leader", "other", TTL)
    node = elector(store, "a", Events()).start()
    clock.wait_for_sleepers(1)
    node.resign()
    assert not node.is_leader
    record = store.get("leader")
    assert record is not None and record.holder == "other"


@pytest.mark.parametrize(
    ("options", "rule"),
    [
        ({"ttl": 0}, "ttl must be"),
        ({"ttl": 9, "renew_every": 8.5}, "renew_every"),
        ({"ttl": 9, "retry_period": 9, "jitter": 0.2}, "retry_period with jitter"),
        ({"ttl": 9, "jitter": 1.0}, "jitter must be in"),
        ({"ttl": 9, "jitter": -0.1}, "jitter must be in"),
        ({"ttl": 9, "retry_period": 0}, "retry_period must be"),
    ],
)
def test_timing_config_is_validated_with_one_message_per_rule(
    store: FaultyStore, options: dict[str, float], rule: str
) -> None:
    with pytest.raises(ConfigError, match=rule) as caught:
        LeaderElector(store, "leader", **options)  # type: ignore[arg-type]
    assert "leader" in str(caught.value)
    assert sum(store.requests.values()) == 0


def test_bad_name_is_refused_at_construction(store: FaultyStore) -> None:
    with pytest.raises(ConfigError, match="lease name"):
        LeaderElector(store, "bad name")


def test_a_dead_grant_does_not_elect(store: FaultyStore, clock: FakeClock) -> None:
    events = Events()
    store.latency = TTL  # every answer arrives after the lease's own deadline
    clock.autoadvance = True
    node = elector(store, "a", events)
    thread = threading.Thread(target=node.run)
    thread.start()
    eventually(lambda: store.requests["acquire"] >= 3)
    node.resign()
    thread.join(5)
    assert "elected" not in events.kinds()


def test_an_elector_runs_once(store: FaultyStore) -> None:
    node = LeaderElector(store, "leader", ttl=TTL, holder="a").start()
    with pytest.raises(ConfigError, match="already started"):
        node.start()
    node.resign()
    with pytest.raises(ConfigError, match="already resigned: an elector runs once"):
        node.start()
    never_started = LeaderElector(store, "leader", ttl=TTL, holder="b")
    never_started.resign()
    with pytest.raises(ConfigError, match="already resigned"):
        never_started.start()
