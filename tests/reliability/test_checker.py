"""The checkers can fail: each one on a hand-written bad history, and the whole harness on
stores broken on purpose (mutants), so a green history run means something."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from cloudlease import records as rules
from cloudlease.async_store import SyncBackedStore
from cloudlease.errors import StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore
from cloudlease.stores.memory import MemoryStore
from cloudlease.testing.blocking import BlockingStore
from cloudlease.testing.history import (
    Event,
    check_ambiguous,
    check_history,
    check_not_stuck,
    check_single_holder,
    check_sink,
    check_steals,
    check_tokens,
    excerpt,
    tenures,
)
from cloudlease.testing.semaphores import check_at_most, check_semaphore_history
from tests.reliability.backends import MemoryBackend
from tests.reliability.harness import Profile, run_history
from tests.reliability.sim import SimClock


def ev(t: float, actor: str, kind: str, **fields: Any) -> Event:
    return Event(t, actor, kind, **fields)


# -- each checker on a small history --------------------------------------------------------


def test_sink_check_refuses_an_older_token_accepted_after_a_newer_one() -> None:
    good = [ev(1, "a", "write", token=5, ok=True), ev(2, "b", "write", token=6, ok=True)]
    good += [ev(3, "a", "write", token=5, ok=False)]
    assert check_sink(good) == []
    bad = [*good, ev(4, "a", "write", token=5, ok=True)]
    assert check_sink(bad)
    shared = [ev(1, "a", "write", token=5, ok=True), ev(2, "b", "write", token=5, ok=True)]
    assert check_sink(shared)


def test_single_holder_check_uses_each_holders_own_deadline() -> None:
    fine = [
        ev(0, "a", "granted", token=1, deadline=9),
        ev(5, "a", "stopped", token=1),
        ev(6, "a", "renewed", token=1, deadline=20),  # landed after the stop: extends nothing
        ev(7, "b", "granted", token=2, deadline=15),
    ]
    assert check_single_holder(fine) == []
    assert [(t.holder, t.end) for t in tenures(fine)] == [("a", 5), ("b", 15)]
    frozen = [
        ev(0, "a", "granted", token=1, deadline=9),
        ev(8, "b", "granted", token=2, deadline=15),
    ]
    assert check_single_holder(frozen)  # a froze but believed itself valid until 9
    crashed = [ev(0, "a", "granted", token=1, deadline=9), ev(3, "a", "crashed")]
    assert check_single_holder([*crashed, ev(4, "b", "granted", token=2, deadline=9)]) == []


def test_token_check_follows_the_stores_apply_order_across_deletion() -> None:
    applied = [ev(0, "a", "applied", token=10), ev(1, "sweeper", "deleted", token=10)]
    assert check_tokens([*applied, ev(2, "b", "applied", token=11)]) == []
    assert check_tokens([*applied, ev(2, "b", "applied", token=10)])


def test_stuck_check_measures_from_the_moment_everybody_stopped() -> None:
    stopped = ev(10, "probe", "all_stopped", deadline=3.0)
    assert check_not_stuck([stopped, ev(12.5, "probe", "probe", token=1)]) == []
    assert check_not_stuck([stopped, ev(13.5, "probe", "probe", token=1)])
    assert check_not_stuck([stopped])


def test_ambiguous_check_finds_lost_and_duplicated_grants() -> None:
    applied = ev(1, "a", "applied", token=7, attempt=1)
    seen = ev(2, "a", "read_back", attempt=1, ok=True)
    assert (
        check_ambiguous(
            [applied, seen, ev(3, "a", "attempt", attempt=1, detail="granted", token=7)]
        )
        == []
    )
    assert check_ambiguous([applied, seen, ev(3, "a", "attempt", attempt=1, detail="held")])
    assert check_ambiguous([applied, ev(3, "a", "attempt", attempt=1, detail="unavailable")])
    unknown = ev(3, "a", "attempt", attempt=1, detail="unknown")  # the read-back failed too
    assert check_ambiguous([applied, unknown]) == []
    ghost = ev(3, "a", "attempt", attempt=2, detail="granted", token=7)
    assert check_ambiguous([ghost])


def test_a_steal_ends_the_older_grant_and_nothing_renews_it_afterwards() -> None:
    events = [
        ev(0, "a", "granted", token=1, deadline=9, lease="j"),
        ev(1, "a", "renew_applied", token=1, lease="j"),  # before the steal: fine
        ev(2, "op", "applied", token=2, detail="steal", lease="j"),
        ev(3, "op", "granted", token=2, deadline=12, lease="j"),
        ev(4, "a", "claim", token=1, deadline=9, lease="j"),  # a acts until a renewal fails
        ev(5, "a", "renewed", token=1, deadline=14, lease="j"),  # the reply to the one at 1
    ]
    assert check_single_holder(events) == [] and check_steals(events) == []
    assert [(t.holder, t.start, t.end) for t in tenures(events)] == [("a", 0, 2), ("op", 3, 12)]
    unstolen = [e for e in events if e.detail != "steal"]
    assert check_single_holder(unstolen)  # without the steal, a and op overlap
    late = ev(2.5, "b", "granted", token=1, deadline=9, lease="j")  # applied before, told after
    assert [t.end for t in tenures([*events[:3], late]) if t.holder == "b"] == [2]
    renewed_after = [*events, ev(6, "a", "renew_applied", token=1, lease="j")]
    (problem,) = check_steals(renewed_after)
    assert "renewed a's token 1 at 6.000 after op stole the lease with token 2" in problem
    assert check_steals([*events, ev(6, "a", "renew_applied", token=1, lease="other")]) == []


def test_excerpt_shows_the_events_a_violation_names() -> None:
    events = [
        ev(0, "a", "granted", token=1, deadline=9),
        ev(30, "c", "granted", token=3, deadline=31),
        ev(8, "b", "granted", token=2, deadline=20),
    ]
    problems = check_history(events)
    assert len(problems) == 1
    shown = excerpt(events, problems[0])
    assert "token=1" in shown and "token=2" in shown and "token=3" not in shown


def test_a_violation_carries_its_actors_tokens_and_instant() -> None:
    applied = ev(1, "a", "applied", token=7, attempt=40)
    seen = ev(2, "a", "read_back", attempt=40, ok=True)
    said = ev(3, "a", "attempt", attempt=40, detail="held")
    later = ev(5, "a", "granted", token=8, deadline=60)
    events = [applied, seen, said, later]
    (problem,) = check_history(events)
    assert problem.startswith("ambiguous outcomes: a attempt 40: the store applied token 7")
    assert (problem.actors, problem.tokens, problem.until) == (frozenset({"a"}), frozenset({7}), 3)
    shown = excerpt(events, problem)  # up to 3, not to 7 (a token in the sentence)
    assert "attempt=40" in shown and "token=8" not in shown
    assert excerpt(events, "a sentence alone") == "\n".join(e.line() for e in events)


# -- the harness on broken stores -----------------------------------------------------------


class EagerStore(MemoryStore):
    """Takes over a lease half a ttl before it expires: split brain by construction."""

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        early = AcquireRequest(
            request.name,
            request.holder,
            request.ttl_ms,
            request.now_ms + request.ttl_ms // 2,
            request.allowance_ms,
            request.metadata,
        )
        record, state = super()._acquire(early)
        return record.replace(expires_at=request.expires_at), state


class MislabellingStore(MemoryStore):
    """Applies every third acquisition, then reports a plain failure: a provider that calls a
    timeout after sending "surely not applied" (ambiguous=False), so nobody reads back."""

    calls = 0

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        result = super()._acquire(request)
        MislabellingStore.calls += 1
        if MislabellingStore.calls % 3 == 0:
            raise StoreUnavailable("timed out", lease=request.name, store=self.url)
        return result


class StealDeafStore(MemoryStore):
    """Renews a grant that a steal took: the renewal writes the old grant back over the
    stealer's, as a renewal conditioned on the holder's name alone would after a re-entry."""

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        with self._shelf.lock:
            current = self._shelf.records.get(lease.name)
            if current is not None and current.token > lease.token:
                record = rules.renewed(lease.record, now_ms, ttl_ms)
                self._shelf.records[lease.name] = record
                return record, None
        return super()._renew(lease, now_ms, ttl_ms)


class Mutant(MemoryBackend):
    """A broken store's sync side, or (given ``loop``) its async side: the broken primitives
    awaited through ``SyncBackedStore``, driven as ``AsyncBackend`` drives an async store."""

    def __init__(
        self, kind: type[MemoryStore], shelf: str, loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        super().__init__(shelf)
        self.kind = kind
        self.loop = loop

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        store = self.kind(
            self.shelf,
            clock=clock,
            takeover_allowance=skew_allowance,
            clock_skew_bound=skew_allowance,
        )
        if self.loop is None:
            return store
        return BlockingStore(SyncBackedStore(store, hop=False), self.loop)


@pytest.fixture(params=["sync", "async"])
def loop(request: pytest.FixtureRequest) -> Iterator[asyncio.AbstractEventLoop | None]:
    """None (the sync side), or the event loop the async side runs on."""
    if request.param == "sync":
        yield None
        return
    made = asyncio.new_event_loop()
    yield made
    made.close()


def first_violation(
    backend: Any, profile: Profile | None = None, tries: int = 40, start: int = 0
) -> str:
    for seed in range(start, start + tries):
        outcome = run_history(backend, seed, profile)
        if outcome.problems:
            assert f"seed {seed}" in outcome.report()
            return outcome.problems[0]
    pytest.fail(f"{tries} histories on a broken store found nothing")


def test_a_store_that_takes_over_early_is_caught(loop: asyncio.AbstractEventLoop | None) -> None:
    problem = first_violation(Mutant(EagerStore, f"eager-{id(loop)}", loop))
    assert problem.startswith(("single holder", "ambiguous"))


def test_a_store_that_loses_ambiguous_grants_is_caught(
    loop: asyncio.AbstractEventLoop | None,
) -> None:
    problem = first_violation(Mutant(MislabellingStore, f"mislabelling-{id(loop)}", loop))
    assert problem.startswith("ambiguous outcomes"), problem


def test_a_store_that_renews_a_stolen_grant_is_caught(
    loop: asyncio.AbstractEventLoop | None,
) -> None:
    backend = Mutant(StealDeafStore, f"steal-deaf-{id(loop)}", loop)
    problem = first_violation(backend, Profile(steal_every=2.0))
    assert problem.startswith("steals"), problem


def test_clocks_skewed_beyond_the_allowance_are_caught() -> None:
    """The guarantee assumes skew within the allowance; outside it the harness sees the split."""

    class Liar(MemoryBackend):
        def open(self, clock: SimClock, skew_allowance: float) -> MemoryStore:
            clock.skew_ms *= 40  # each clock up to 10 ttl off, the allowance unchanged
            return MemoryStore(
                self.shelf,
                clock=clock,
                takeover_allowance=skew_allowance,
                clock_skew_bound=skew_allowance,
            )

    problem = first_violation(Liar("liar"))
    assert problem.startswith(("single holder", "tokens", "not stuck"))


def test_a_sweep_faster_than_a_frozen_request_can_regress_tokens() -> None:
    """The limit of "tokens survive deletion" (docs/tokens.md): a record created afresh takes
    the acquirer's clock reading (µs), so a sweep must wait longer than any request can be in
    flight (2 x skew allowance + the longest pause between reading the clock and the write
    landing). With a sweep after
    0.1 ttl that does not wait for requests on their way, and pauses of up to 2.5 ttl, a frozen
    acquire lands with an old clock reading and a smaller token."""
    hasty = Profile(purge_after=0.1, sweep_waits=False)
    # Rare by nature: seed 499 shows it with today's library; any change to the library's
    # random draws moves it, so the search goes on (about 25 histories a second) from there.
    problem = first_violation(MemoryBackend("hasty"), hasty, tries=2000, start=499)
    assert problem.startswith("tokens"), problem


# -- semaphores: at most N holders at once ---------------------------------------------------


def test_at_most_n_counts_holders_across_slots_each_slot_fine_on_its_own() -> None:
    three = [
        ev(0, "a", "granted", token=1, deadline=9, lease="s.slot-0"),
        ev(1, "b", "granted", token=1, deadline=9, lease="s.slot-1"),
        ev(2, "c", "granted", token=1, deadline=9, lease="s.slot-2"),
    ]
    assert check_semaphore_history(three, 3) == []
    (problem,) = check_semaphore_history(three, 2)
    assert problem.startswith("at most N: 3 holders valid at 2.000, over 2")
    assert problem.actors == {"a", "b", "c"}
    stopped = ev(1.5, "a", "stopped", token=1, lease="s.slot-0")
    assert check_at_most([*three[:2], stopped, three[2]], 2) == []


def test_each_slot_is_checked_as_a_lease() -> None:
    twice = [
        ev(0, "a", "granted", token=1, deadline=9, lease="s.slot-0"),
        ev(1, "b", "granted", token=2, deadline=9, lease="s.slot-0"),
    ]
    problems = check_semaphore_history(twice, 2)  # two holders: within N, not on one slot
    assert [p.split(":")[0] for p in problems] == ["single holder of s.slot-0"]


def test_contenders_that_believe_in_more_slots_than_there_are_are_caught() -> None:
    """Half the truth: the semaphore has 2 slots, its contenders take 3 (misconfigured)."""
    problem = first_violation(MemoryBackend("miscount"), Profile(slots=2, believed_slots=3))
    assert problem.startswith("at most N"), problem


def test_a_store_that_takes_over_early_is_caught_on_a_semaphore() -> None:
    problem = first_violation(Mutant(EagerStore, "eager-slots"), Profile(slots=2, contenders=4))
    assert problem.startswith(("single holder of", "at most N", "ambiguous")), problem
