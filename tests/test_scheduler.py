"""One renewal scheduler serves every held lease: a thread and a small pool, not a thread each.

On a FakeClock: the test moves time; the scheduler sleeps on the clock only once every step
that has not stalled is finished, so ``wait_for_sleepers(1)`` means the renewals due are done.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from cloudlease import LeaderElector
from cloudlease.errors import LeaseLost
from cloudlease.keeper import HeldLease, hold
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.scheduler import MAX_WORKERS, THREAD_PREFIX, scheduler_for
from cloudlease.store import BaseStore
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing import FakeClock, FaultyStore
from tests.helpers import eventually

TTL = 9.0  # renewals every 3 s shortened by up to 20 % jitter; local deadline 8.1 s in


class StallingStore(FaultyStore):
    """A real store whose renewals of one lease block until ``gate`` is set (a slow request);
    it records the fake instant of every renewal request it receives."""

    def __init__(self, inner: BaseStore, stalled: str) -> None:
        super().__init__(inner)
        self.stalled = stalled
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.renewed_at: dict[str, list[float]] = {}

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        self.renewed_at.setdefault(lease.name, []).append(self.clock.monotonic())
        if lease.name == self.stalled:
            self.entered.set()
            assert self.gate.wait(30), "the stalled request was never let go"
        return super()._renew(lease, now_ms, ttl_ms)


def keeper_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX)]


@pytest.fixture(autouse=True)
def _no_stray_keepers() -> Iterator[None]:
    yield
    # a lease that ended in its own step ends the scheduler's threads without a join
    eventually(lambda: not keeper_threads(), what="the scheduler's threads to end")


@pytest.fixture(params=["memory", "sqlite"])
def inner(request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path) -> BaseStore:
    if request.param == "memory":
        return MemoryStore(clock=clock)
    return SQLiteStore(tmp_path / "leases.db", clock=clock)


def test_many_leases_are_renewed_by_one_scheduler_thread_and_one_worker(
    store: FaultyStore, clock: FakeClock
) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(hold(store, f"job-{i}", ttl=TTL)) for i in range(50)]
        clock.wait_for_sleepers(1)
        for _ in range(3):
            clock.advance(3.0)  # every lease is due within each 3 s
            clock.wait_for_sleepers(1)
        assert store.requests["renew"] >= 150
        assert all(h.is_valid() and h.remaining() > TTL - 0.9 - 3.0 for h in held)
        assert sorted(keeper_threads()) == [THREAD_PREFIX, f"{THREAD_PREFIX}-worker-1"]
    assert store.requests["release"] == 50


def renewed_at_least(store: FaultyStore, count: int) -> bool:
    return store.requests["renew"] >= count


def test_jitter_spreads_leases_taken_at_the_same_instant(
    store: FaultyStore, clock: FakeClock
) -> None:
    with ExitStack() as stack:
        held = [stack.enter_context(hold(store, f"job-{i}", ttl=TTL)) for i in range(100)]
        now = clock.monotonic()
        planned = [h.next_wakeup() - now for h in held]
        assert min(planned) >= 3.0 * 0.8 and max(planned) <= 3.0
        assert len({round(p, 3) for p in planned}) > 80  # not one instant, nor a few
        counts: list[int] = []
        for _ in range(6):  # 0.1 s at a time through the window where the first renewals fall
            before = store.requests["renew"]
            clock.wait_for_sleepers(1)
            clock.advance(2.4 + 0.1 if not counts else 0.1)
            # The scheduler hands due leases to a worker and sleeps again before the worker has
            # sent them: wait (real time) until every lease planned by now was renewed.
            due = sum(p <= clock.monotonic() - now for p in planned)
            eventually(partial(renewed_at_least, store, due), what=f"{due} renewals")
            assert store.requests["renew"] == due  # none renewed before its planned time
            counts.append(store.requests["renew"] - before)
        assert sum(counts) > 0 and max(counts) < 50  # spread over the window, never bunched


def test_a_stalled_request_for_one_lease_does_not_make_another_late(
    inner: BaseStore, clock: FakeClock
) -> None:
    store = StallingStore(inner, stalled="slow")
    with ExitStack() as stack:
        slow = stack.enter_context(hold(store, "slow", ttl=TTL))
        clock.advance(1.0)  # the other lease is due after the slow one (jitter is < 0.6 s)
        fast = stack.enter_context(hold(store, "fast", ttl=TTL))
        stack.callback(store.gate.set)  # exits first: the stuck request goes, then the leases
        clock.wait_for_sleepers(1)
        clock.advance(slow.next_wakeup() - clock.monotonic())
        assert store.entered.wait(10)  # a worker is now blocked in the slow lease's renewal
        for renewal in range(1, 4):
            clock.wait_for_sleepers(1)
            planned = fast.next_wakeup()
            clock.advance(planned - clock.monotonic())
            # another worker takes the queue over after STALL real seconds: no fake time passes
            eventually(lambda p=planned: fast.next_wakeup() > p, timeout=10)  # type: ignore[misc]
            assert store.renewed_at["fast"][-1] == pytest.approx(planned)  # on time
            assert len(store.renewed_at["fast"]) == renewal and fast.is_valid()
        assert len(keeper_threads()) <= 1 + MAX_WORKERS
        assert len(store.renewed_at["slow"]) == 1  # still in its first request


def test_a_thousand_holds_use_a_few_threads(store: FaultyStore, clock: FakeClock) -> None:
    before = threading.active_count()
    with ExitStack() as stack:
        for i in range(1000):
            stack.enter_context(hold(store, f"job-{i}", ttl=TTL))
        assert threading.active_count() - before <= 2
        clock.wait_for_sleepers(1)
        clock.advance(3.0)
        eventually(lambda: store.requests["renew"] >= 1000, timeout=60)
        assert threading.active_count() - before <= 1 + MAX_WORKERS
    assert threading.active_count() == before


def test_a_lost_lease_fires_its_event_and_callback_once_and_the_others_carry_on(
    store: FaultyStore, clock: FakeClock
) -> None:
    losses: list[HeldLease] = []
    with (
        hold(store, "taken", ttl=TTL, on_lost=losses.append) as taken,
        hold(store, "kept", ttl=TTL) as kept,
    ):
        store.force_release("taken")
        store.acquire("taken", "intruder", TTL)
        clock.wait_for_sleepers(1)
        clock.advance(3.0)
        assert taken.lost.wait(5)
        eventually(lambda: losses == [taken])
        assert "intruder" in (taken.reason or "")
        clock.wait_for_sleepers(1)
        for _ in range(3):
            clock.advance(3.0)
            clock.wait_for_sleepers(1)
        assert kept.is_valid() and losses == [taken]


def test_a_blocked_renewal_still_ends_the_lease_at_its_local_deadline(
    inner: BaseStore, clock: FakeClock
) -> None:
    store = StallingStore(inner, stalled="job")
    with hold(store, "job", ttl=TTL) as held:
        try:
            deadline = held.lease.deadline
            clock.wait_for_sleepers(1)
            clock.advance(held.next_wakeup() - clock.monotonic())
            assert store.entered.wait(10)
            clock.advance(deadline - clock.monotonic())  # no renewal has come back
            assert not held.is_valid() and held.remaining() == 0.0
            with pytest.raises(LeaseLost, match="local deadline is past"):
                held.ensure()
        finally:
            store.gate.set()


def test_a_lease_stopped_from_its_own_on_lost_callback_does_not_deadlock(
    store: FaultyStore, clock: FakeClock
) -> None:
    with hold(store, "job", ttl=TTL, on_lost=lambda h: h.stop_renewing()) as held:
        store.force_release("job")
        store.acquire("job", "intruder", TTL)
        clock.wait_for_sleepers(1)
        clock.advance(3.0)
        assert held.lost.wait(5)


def test_manual_renewal_uses_no_thread(store: FaultyStore, clock: FakeClock) -> None:
    with hold(store, "job", ttl=TTL, renewal="manual") as held:
        assert not keeper_threads()
        clock.advance(3.0)
        assert held.renew() == pytest.approx(TTL - 0.9)
        assert store.requests["renew"] == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_child_after_fork_starts_its_own_scheduler(store: FaultyStore, clock: FakeClock) -> None:
    with hold(store, "parent", ttl=TTL) as parent:
        clock.wait_for_sleepers(1)
        assert keeper_threads()
        pid = os.fork()
        if pid == 0:  # the child: none of the parent's threads, nor its leases to renew
            code = 1
            try:
                assert threading.active_count() == 1 and not keeper_threads()
                assert scheduler_for(clock).threads() == 0
                parent.stop_renewing()  # the parent's registration: nothing to stop here
                # a fresh clock and store: the parent's may have been locked mid-call at fork
                own_clock = FakeClock()
                own = FaultyStore(MemoryStore(clock=own_clock))
                with hold(own, "child", ttl=TTL) as child:
                    own_clock.wait_for_sleepers(1)
                    own_clock.advance(3.0)
                    own_clock.wait_for_sleepers(1)
                    assert child.is_valid() and own.requests["renew"] == 1
                    code = 0 if keeper_threads() else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        clock.advance(3.0)
        clock.wait_for_sleepers(1)
        assert store.requests["renew"] == 1 and parent.is_valid()  # still renewed here


def test_an_electors_term_is_renewed_by_the_scheduler(store: FaultyStore, clock: FakeClock) -> None:
    lost: list[HeldLease] = []
    node = LeaderElector(store, "leader", ttl=TTL, holder="a", on_lost=lost.append).start()
    try:
        eventually(lambda: node.is_leader)
        assert scheduler_for(clock).threads() >= 1  # the term is one of its leases
        clock.wait_for_sleepers(1)  # the scheduler; the elector's thread waits for the term
        clock.advance(3.0)
        clock.wait_for_sleepers(1)
        assert store.requests["renew"] == 1 and node.is_leader
        store.force_release("leader")
        store.acquire("leader", "intruder", TTL)
        clock.advance(3.0)
        eventually(lambda: len(lost) == 1 and not node.is_leader)  # stepped down once
    finally:
        node.resign()
