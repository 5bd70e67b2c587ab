"""Semaphores: ``hold(store, name, slots=N)``, at most N holders at once, one slot record each.

A semaphore's slots are ordinary lease records named ``NAME.slot-K``; the slot a holder takes
is chosen by the lifecycle (``TenureCore``), one acquire per slot tried, from the holder's own
first slot. All on a FakeClock over a fault-injecting memory store, on both sides.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import Counter

import pytest

from cloudlease import ConfigError, LeaseHeld, StoreUnavailable, events
from cloudlease.async_store import SyncBackedStore
from cloudlease.keeper import hold
from cloudlease.stores.memory import MemoryStore
from cloudlease.tenure import Tenure, first_slot
from cloudlease.testing import FakeClock, FaultyStore
from tests.helpers import advance_while

TTL = 9.0


def holders_of(store: FaultyStore) -> dict[str, str]:
    """Record name -> holder, for the records held now."""
    return {r.name: r.holder for r in store.inner.records() if r.holder}


def test_one_slot_is_the_plain_lease_same_record_same_requests(store: FaultyStore) -> None:
    for held in (hold(store, "job", ttl=TTL, holder="me"), hold(store, "job", slots=1)):
        with held:
            assert held.slot == 0 and held.lease_name == "job" and held.name == "job"
        assert [r.name for r in store.inner.records()] == ["job"]
    assert dict(store.requests) == {"acquire": 2, "release": 2}


def test_n_holders_get_n_slots_and_the_next_is_refused_after_one_try_per_slot(
    store: FaultyStore,
) -> None:
    held = [hold(store, "jobs", ttl=TTL, slots=3, holder=f"h{i}").acquire() for i in range(3)]
    assert sorted(h.slot or 0 for h in held) == [0, 1, 2]
    assert {h.lease_name for h in held} == {"jobs.slot-0", "jobs.slot-1", "jobs.slot-2"}
    assert holders_of(store) == {h.lease_name: h.holder for h in held}
    store.requests.clear()
    with pytest.raises(LeaseHeld, match="all 3 slots are held") as refused:
        hold(store, "jobs", ttl=TTL, slots=3, holder="late").acquire()  # wait=None: fail fast
    assert dict(store.requests) == {"acquire": 3}  # each slot tried once
    assert refused.value.lease == "jobs" and refused.value.record is not None
    assert refused.value.record.name.startswith("jobs.slot-")


def test_each_slot_renews_and_releases_its_own_record_with_its_own_growing_token(
    store: FaultyStore, clock: FakeClock
) -> None:
    a = hold(store, "jobs", ttl=TTL, slots=2, holder="a", renewal="manual").acquire()
    b = hold(store, "jobs", ttl=TTL, slots=2, holder="b", renewal="manual").acquire()
    assert a.slot != b.slot
    before = store.get(b.lease_name)
    store.requests.clear()
    clock.advance(1)
    a.renew()
    assert dict(store.requests) == {"renew": 1}
    assert store.get(b.lease_name) == before  # b's record untouched
    old_token = a.token
    a.release()
    assert store.get(a.lease_name).holder == ""  # type: ignore[union-attr]
    again = hold(store, "jobs", ttl=TTL, slots=2, holder="c").acquire()
    assert again.slot == a.slot and again.token > old_token  # the slot's tokens only grow
    b.release()
    again.release()


def test_a_waiter_takes_the_first_slot_that_frees(store: FaultyStore, clock: FakeClock) -> None:
    first = hold(store, "jobs", ttl=TTL, slots=2, holder="a").acquire()
    hold(store, "jobs", ttl=TTL, slots=2, holder="b").acquire()
    got: list[Tenure] = []
    waiter = threading.Thread(
        target=lambda: got.append(
            hold(store, "jobs", ttl=TTL, slots=2, holder="w", wait=60).acquire()
        )
    )
    waiter.start()
    clock.wait_for_sleepers(1)  # every slot refused: a campaign pause
    assert store.requests["acquire"] == 4
    first.release()
    advance_while(clock, waiter.is_alive)
    waiter.join(5)
    assert got and got[0].slot == first.slot and got[0].token > first.token


def test_a_lost_response_on_a_slot_is_resolved_on_that_slot_never_by_a_second_slot(
    store: FaultyStore,
) -> None:
    """The holder's first slot fails (nothing written), so its attempt goes on to the next
    one, where the write lands but the answer is lost and the read-back fails too (ambiguous).
    The retry must go back to the slot its write may have landed on (re-entry), not take its
    first slot, free all along."""
    me, slots = "me", 3
    start = first_slot(me, slots)
    mine = hold(store, "jobs", ttl=TTL, slots=slots, holder=me)
    store.fail_next("acquire", "transient")
    store.fail_next("acquire", "lost")
    store.fail_next("get", "transient")
    with pytest.raises(StoreUnavailable) as unknown:
        mine.try_acquire()
    assert unknown.value.ambiguous
    landed = f"jobs.slot-{(start + 1) % slots}"
    assert holders_of(store) == {landed: me}  # the write landed; the answer did not
    mine.try_acquire()
    assert mine.lease_name == landed  # re-entered
    assert sorted(holders_of(store).values()) == [me]  # one slot, not two


def test_a_refusal_where_the_outcome_was_unknown_moves_on_to_the_other_slots(
    store: FaultyStore,
) -> None:
    me = "me"
    mine = hold(store, "jobs", ttl=TTL, slots=2, holder=me)
    start = first_slot(me, 2)
    store.fail_next("acquire", "transient")  # nothing written, a plain failure: next slot
    mine.try_acquire()
    assert mine.slot == (start + 1) % 2
    mine.release()
    mine = hold(store, "jobs", ttl=TTL, slots=2, holder=me)
    mine._resume = start
    store.acquire(f"jobs.slot-{start}", "x", TTL)
    mine.try_acquire()  # the resumed slot is someone else's: the write did not land
    assert mine.slot == (start + 1) % 2 and mine._resume is None


@pytest.mark.parametrize("slots", [0, -1, 101, 2.0, True, "2", None])
def test_bad_slots_are_refused_before_any_request(store: FaultyStore, slots: object) -> None:
    with pytest.raises(ConfigError, match="slots must be a whole number from 1 to 100") as bad:
        hold(store, "jobs", slots=slots)  # type: ignore[call-overload]
    assert bad.value.lease == "jobs" and bad.value.store == store.url
    assert not store.requests


def test_a_name_too_long_for_its_slot_records_is_refused(store: FaultyStore) -> None:
    hold(store, "n" * 193, slots=10)  # n...n.slot-9: 200 characters
    with pytest.raises(ConfigError, match=r"too long for 11 slots.*shorten the name"):
        hold(store, "n" * 193, slots=11)
    assert not store.requests


def test_a_semaphore_is_not_stolen_whole(store: FaultyStore) -> None:
    with pytest.raises(ConfigError, match=r"steal one slot by its record name.*jobs\.slot-0"):
        hold(store, "jobs", slots=2).steal()
    assert not store.requests


def test_transitions_name_the_slots_record(
    store: FaultyStore, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.DEBUG, logger=events.LOGGER),
        hold(store, "jobs", ttl=TTL, slots=2, holder="a") as held,
    ):
        pass
    logged = {(r.transition, r.lease) for r in caplog.records}  # type: ignore[attr-defined]
    assert ("acquired", held.lease_name) in logged and ("released", held.lease_name) in logged


def test_first_slots_spread_over_the_slots() -> None:
    rng = random.Random(7)
    counts = Counter(first_slot(f"host:{rng.randrange(99999)}:{i}", 4) for i in range(4000))
    assert set(counts) == {0, 1, 2, 3} and min(counts.values()) > 900


def test_the_async_side_holds_slots_with_the_same_requests(clock: FakeClock) -> None:
    faulty = FaultyStore(MemoryStore(clock=clock))
    astore = SyncBackedStore(faulty, hop=False)

    async def main() -> None:
        async with (
            hold(astore, "jobs", ttl=TTL, slots=2, holder="a") as a,
            hold(astore, "jobs", ttl=TTL, slots=2, holder="b") as b,
        ):
            assert {a.lease_name, b.lease_name} == {"jobs.slot-0", "jobs.slot-1"}
            with pytest.raises(LeaseHeld, match="all 2 slots"):
                await hold(astore, "jobs", ttl=TTL, slots=2, holder="c").acquire()

    asyncio.run(main())
    assert dict(faulty.requests) == {"acquire": 4, "release": 2}
