"""The store conformance suite: every store runs these tests unchanged.

Subclass ``ConformanceSuite`` in a test module and provide a ``make_store`` fixture that returns
a factory ``make_store(clock=FakeClock, takeover_allowance=s, clock_skew_bound=s) -> BaseStore``
(options it is not given keep the store's defaults), each call on
a fresh, empty namespace (table, collection, container) or the same one, as the store allows::

    class TestMyStore(ConformanceSuite):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda **options: MyStore(..., **options)

Stores whose expiry is the server's (``capabilities.server_side_expiry``) let real time pass
in the expiry tests; the others only advance the FakeClock.

The token tests (docs/tokens.md) run each contender on a FakeClock of its own, skewed by up to
the clock-skew bound A either way, and ``older_client()`` simulates a cloudlease that counted
tokens in ms (schema 1): by default the read-first rule of ``records.acquired`` as it was;
a store that states its rules otherwise (DynamoDB's expressions) overrides it.

A store with a fencing helper of its own also mixes in ``FencedWrites`` (or
``SyncFencedWrites``, when only its sync side has one) and defines ``fenced_write``.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest

from cloudlease import records as rules
from cloudlease._flows import Call, Step, run
from cloudlease.errors import ConfigError, LeaseHeld, LeaseLost, StealConflict, StoreUnavailable
from cloudlease.lease import Lease
from cloudlease.purge import PurgeRefused, purge
from cloudlease.records import LEGACY_SCHEMA, SCHEMA, AcquireRequest, LeaseRecord
from cloudlease.store import BaseStore
from cloudlease.testing.clock import FakeClock
from cloudlease.testing.faults import FaultyStore

StoreFactory = Callable[..., BaseStore]

A = "holder-a"
B = "holder-b"
BURST = 50  # re-entries in a burst
ROUND_TRIP = 0.000_01  # fake seconds per request in a burst: 10 µs, faster than any store


def acquired_before_schema_2(current: LeaseRecord | None, request: AcquireRequest) -> LeaseRecord:
    """``records.acquired`` as cloudlease wrote it before µs tokens: ``max(previous + 1,
    now_ms)``, a fresh record at ``now_ms``, and no schema marker (read back as schema 1)."""
    same_holder = current is not None and current.holder == request.holder
    return LeaseRecord(
        name=request.name,
        holder=request.holder,
        token=request.now_ms if current is None else max(current.token + 1, request.now_ms),
        expires_at=request.expires_at,
        acquired_at=current.acquired_at if same_holder and current else request.now_ms,
        renewed_at=request.now_ms,
        transitions=(current.transitions if current else 0) + (0 if same_holder else 1),
        metadata=dict(request.metadata),
        schema=LEGACY_SCHEMA,
    )


class SkewedClocks:
    """One true time and a FakeClock per contender, each off by ``offset`` seconds."""

    def __init__(self, true: FakeClock) -> None:
        self.true = true
        self.clocks: list[FakeClock] = [true]

    def at(self, offset: float) -> FakeClock:
        clock = FakeClock(wall_ms=self.true.wall_ms(), monotonic=self.true.monotonic())
        clock.skew_ms = round(offset * 1000)
        self.clocks.append(clock)
        return clock

    def advance(self, seconds: float) -> None:
        for clock in self.clocks:
            clock.advance(seconds)


class ConformanceSuite:
    """The store contract of DESIGN.md, as tests. Override ``ttl`` for stores with bounds."""

    #: The ttl used by the tests (seconds); stores with a minimum (Azure: 15 s) override it.
    ttl: float = 10.0
    #: The clock-skew bound A of the token tests, and the takeover allowance of the takeover
    #: tests (seconds).
    skew: float = 2.0

    # -- fixtures ---------------------------------------------------------------------------

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def store(self, make_store: StoreFactory, clock: FakeClock) -> BaseStore:
        return make_store(clock=clock, takeover_allowance=0.0)

    def let_expire(self, store: BaseStore, clock: FakeClock, seconds: float) -> None:
        """Let ``seconds`` pass for the store: fake time, plus real time for server expiry."""
        if store.capabilities.server_side_expiry:
            time.sleep(seconds)
        clock.advance(seconds)

    def taken_over(self, store: BaseStore, clock: FakeClock) -> tuple[Lease, Lease]:
        """A's lease of ``job``, and B's: A's expired and B took it over."""
        old = store.acquire("job", A, self.ttl)
        self.let_expire(store, clock, self.ttl + 1)
        return old, store.acquire("job", B, self.ttl)

    # -- acquire ----------------------------------------------------------------------------

    def test_acquire_on_empty_grants_a_lease_with_a_token_from_the_epoch(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        now = clock.wall_ms()
        lease = store.acquire("job", A, self.ttl)
        assert (lease.name, lease.holder) == ("job", A)
        assert lease.token >= now
        assert lease.expires_at == now + round(self.ttl * 1000)
        assert lease.remaining() == pytest.approx(self.ttl)  # a store's grant: no margin
        record = store.get("job")
        assert record is not None
        assert (record.holder, record.token, record.expires_at) == (
            A,
            lease.token,
            lease.expires_at,
        )
        assert record.transitions == 1
        assert record.acquired_at == record.renewed_at == now

    def test_contender_is_refused_and_learns_the_holder_in_the_same_call(
        self, store: BaseStore
    ) -> None:
        lease = store.acquire("job", A, self.ttl, {"host": "a"})
        with pytest.raises(LeaseHeld) as caught:
            store.acquire("job", B, self.ttl)
        assert caught.value.record is not None
        assert caught.value.record.holder == A
        assert caught.value.record.token == lease.token
        assert caught.value.record.metadata == {"host": "a"}
        assert "job" in str(caught.value) and store.url in str(caught.value)
        assert store.get("job") == lease.record

    def test_reentry_by_the_same_holder_succeeds_with_a_greater_token(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        first = store.acquire("job", A, self.ttl)
        clock.advance(0.5)
        again = store.acquire("job", A, self.ttl)
        assert again.token > first.token
        record = store.get("job")
        assert record is not None
        assert record.holder == A and record.token == again.token
        assert record.transitions == 1
        assert record.acquired_at == first.record.acquired_at
        with pytest.raises(LeaseHeld):
            store.acquire("job", B, self.ttl)

    def test_lost_acquire_response_is_resolved_by_reading_back_exactly_once(
        self, store: BaseStore
    ) -> None:
        faulty = FaultyStore(store)
        faulty.fail_next("acquire", "lost")
        lease = faulty.acquire("job", A, self.ttl)
        record = store.get("job")
        assert record is not None
        assert (record.holder, record.token, record.transitions) == (A, lease.token, 1)
        assert faulty.requests["acquire"] == 1
        with pytest.raises(LeaseHeld):
            store.acquire("job", B, self.ttl)

    def test_transient_failure_before_acquire_writes_nothing(self, store: BaseStore) -> None:
        faulty = FaultyStore(store)
        faulty.fail_next("acquire", "transient")
        with pytest.raises(StoreUnavailable):
            faulty.acquire("job", A, self.ttl)
        assert store.get("job") is None

    def test_expired_lease_is_taken_over_with_a_greater_token(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        old, new = self.taken_over(store, clock)
        assert new.token > old.token
        record = store.get("job")
        assert record is not None
        assert (record.holder, record.transitions) == (B, 2)

    def test_takeover_waits_for_the_takeover_allowance(
        self, make_store: StoreFactory, clock: FakeClock
    ) -> None:
        """A crashed holder's lease is refused to others until its expiry plus the takeover
        allowance has passed, then granted with a greater token."""
        store = make_store(clock=clock, takeover_allowance=self.skew)
        assert store.takeover_allowance == self.skew
        crashed = store.acquire("job", A, self.ttl)
        self.let_expire(store, clock, self.ttl + self.skew / 2)
        with pytest.raises(LeaseHeld):
            store.acquire("job", B, self.ttl)
        clock.advance(self.skew / 2 + 0.01)
        taken = store.acquire("job", B, self.ttl)
        assert taken.holder == B and taken.token > crashed.token

    def test_the_takeover_allowance_is_apart_from_the_clock_skew_bound(
        self, make_store: StoreFactory, clock: FakeClock
    ) -> None:
        """With no takeover allowance a lease is taken over just after its expiry, whatever the
        clock-skew bound; the store's default follows whose clock decides expiry."""
        default = make_store(clock=clock)
        one_clock = default.capabilities.one_clock_decides_expiry
        assert default.takeover_allowance == (0.0 if one_clock else default.clock_skew_bound)
        store = make_store(clock=clock, takeover_allowance=0.0, clock_skew_bound=self.skew)
        assert (store.takeover_allowance, store.clock_skew_bound) == (0.0, self.skew)
        crashed = store.acquire("job", A, self.ttl)
        if store.capabilities.server_side_expiry:
            self.let_expire(store, clock, self.ttl + 0.01)  # the server's clock decides
        else:
            clock.advance(self.ttl - 0.5)
            with pytest.raises(LeaseHeld):
                store.acquire("job", B, self.ttl)
            clock.advance(0.51)
        taken = store.acquire("job", B, self.ttl)
        assert taken.holder == B and taken.token > crashed.token

    # -- renew ------------------------------------------------------------------------------

    def test_renew_extends_the_lease_and_keeps_the_token(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        lease = store.acquire("job", A, self.ttl)
        clock.advance(self.ttl / 3)
        renewed = store.renew(lease)
        assert renewed.token == lease.token
        assert renewed.expires_at == lease.expires_at + round(self.ttl / 3 * 1000)
        assert renewed.deadline == pytest.approx(lease.deadline + self.ttl / 3)
        record = store.get("job")
        assert record is not None
        assert record.expires_at == renewed.expires_at
        assert record.renewed_at == clock.wall_ms()

    def test_renew_after_takeover_raises_lease_lost_and_leaves_the_record(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        lease, taken = self.taken_over(store, clock)
        with pytest.raises(LeaseLost) as caught:
            store.renew(lease)
        assert B in str(caught.value)
        assert store.get("job") == taken.record

    def test_renew_after_release_raises_lease_lost(self, store: BaseStore) -> None:
        lease = store.acquire("job", A, self.ttl)
        store.release(lease)
        with pytest.raises(LeaseLost):
            store.renew(lease)

    def test_lost_renew_response_is_resolved_by_reading_back(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        faulty = FaultyStore(store)
        lease = faulty.acquire("job", A, self.ttl)
        clock.advance(1)
        faulty.fail_next("renew", "lost")
        renewed = faulty.renew(lease)
        record = store.get("job")
        assert record is not None
        assert renewed.expires_at == record.expires_at == lease.expires_at + 1000

    # -- release ----------------------------------------------------------------------------

    def test_release_clears_the_holder_keeps_the_token_and_is_idempotent(
        self, store: BaseStore
    ) -> None:
        lease = store.acquire("job", A, self.ttl)
        assert store.release(lease) is True
        record = store.get("job")
        assert record is not None
        assert (record.holder, record.token) == ("", lease.token)
        assert store.release(lease) is False
        successor = store.acquire("job", B, self.ttl)
        assert successor.token > lease.token

    def test_stale_release_after_takeover_changes_nothing(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        lease, taken = self.taken_over(store, clock)
        assert store.release(lease) is False
        assert store.get("job") == taken.record

    def test_lost_release_response_is_harmless_and_retry_is_idempotent(
        self, store: BaseStore
    ) -> None:
        faulty = FaultyStore(store)
        lease = faulty.acquire("job", A, self.ttl)
        faulty.fail_next("release", "lost")
        assert faulty.release(lease) is True
        assert faulty.release(lease) is False
        record = store.get("job")
        assert record is not None and record.holder == ""

    def test_force_release_clears_any_holder_and_keeps_the_token(self, store: BaseStore) -> None:
        lease = store.acquire("job", A, self.ttl)
        before = store.force_release("job")
        assert before is not None and before.holder == A
        record = store.get("job")
        assert record is not None and (record.holder, record.token) == ("", lease.token)
        with pytest.raises(LeaseLost):
            store.renew(lease)
        assert store.force_release("never-held") is None

    # -- steal ------------------------------------------------------------------------------

    def test_steal_takes_a_held_lease_with_a_greater_token_and_cuts_the_old_holder_off(
        self, store: BaseStore
    ) -> None:
        old = store.acquire("job", A, self.ttl)
        stolen = store.steal("job", B, self.ttl, {"why": "stuck"})
        assert (stolen.holder, stolen.record.metadata) == (B, {"why": "stuck"})
        assert stolen.token > old.token
        record = store.get("job")
        assert record is not None and (record.holder, record.token) == (B, stolen.token)
        assert record.transitions == 2
        with pytest.raises(LeaseLost):
            store.renew(old)
        assert store.release(old) is False
        assert store.renew(stolen).token == stolen.token  # the stealer holds it, and renews
        with pytest.raises(LeaseHeld):
            store.acquire("job", A, self.ttl)

    def test_steal_of_a_free_lease_just_acquires(self, store: BaseStore) -> None:
        first = store.steal("job", A, self.ttl)
        assert first.holder == A
        store.release(first)
        second = store.steal("job", B, self.ttl)
        assert second.holder == B and second.token > first.token
        again = store.steal("job", B, self.ttl)  # our own lease: a re-entry
        assert again.token > second.token
        with pytest.raises(LeaseLost):
            store.renew(second)

    def test_a_steal_racing_another_change_fails_with_steal_conflict_and_writes_nothing(
        self, store: BaseStore
    ) -> None:
        store.acquire("job", A, self.ttl)
        raced: list[Lease] = []

        def perform(step: Step) -> Any:
            result = store._perform(step)
            if isinstance(step, Call) and step.method == "_get" and not raced:
                raced.append(store.steal("job", "holder-c", self.ttl))  # between read and write
            return result

        with pytest.raises(StealConflict) as refused:
            run(store._steal_flow("job", B, self.ttl, None), perform)
        assert refused.value.record is not None and refused.value.record.holder == "holder-c"
        record = store.get("job")
        assert record is not None and (record.holder, record.token) == ("holder-c", raced[0].token)
        assert store.renew(raced[0]).token == raced[0].token

    def test_steal_refuses_bad_input_before_any_request(self, store: BaseStore) -> None:
        faulty = FaultyStore(store)
        with pytest.raises(ConfigError):
            faulty.steal("bad name!", B, self.ttl)
        with pytest.raises(ConfigError):
            faulty.steal("job", B, -1)
        assert sum(faulty.requests.values()) == 0

    # -- tokens -----------------------------------------------------------------------------

    def test_tokens_strictly_increase_across_release_expiry_and_deletion(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        first = store.acquire("job", A, self.ttl)
        store.release(first)
        tokens = [first.token]
        store.release(store.acquire("job", B, self.ttl))
        tokens.append(store.get("job").token)  # type: ignore[union-attr]
        tokens.append(store.acquire("job", A, self.ttl).token)
        self.let_expire(store, clock, self.ttl + 1)
        tokens.append(store.acquire("job", B, self.ttl).token)
        last = store.acquire("job", B, self.ttl)
        tokens.append(last.token)
        store.release(last)
        store.delete_record("job")
        assert store.get("job") is None
        clock.advance(1)
        tokens.append(store.acquire("job", A, self.ttl).token)
        assert all(later > earlier for earlier, later in itertools.pairwise(tokens))

    def test_tokens_count_microseconds_and_a_burst_does_not_outrun_the_clock(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        first = store.acquire("job", A, self.ttl)
        assert clock.wall_us() <= first.token <= clock.wall_us() + 1  # DynamoDB: now_us + 1
        assert store.get("job").schema == SCHEMA  # type: ignore[union-attr]
        tokens = [first.token]
        for _ in range(BURST):
            clock.advance(ROUND_TRIP)
            tokens.append(store.acquire("job", A, self.ttl).token)  # re-entry
        assert all(later > earlier for earlier, later in itertools.pairwise(tokens))
        assert tokens[-1] <= clock.wall_us() + 1
        assert tokens[-1] < 2**53  # exact in JSON and in every store's number type

    def older_client(self, store: BaseStore) -> AbstractContextManager[None]:
        """Inside: ``store`` acquires as cloudlease did before schema 2 (ms tokens)."""
        return _patched(rules, "acquired", acquired_before_schema_2)

    def test_tokens_grow_after_deletion_with_clocks_skewed_both_ways(
        self, make_store: StoreFactory, clock: FakeClock
    ) -> None:
        """Deleted more than 2A after its last grant, a record is re-created with a greater
        token, whichever contender's clock is ahead or behind (within A) and after a burst."""
        skew = self.skew
        time_ = SkewedClocks(clock)
        cases = [(+skew, -skew), (-skew, +skew), (+skew, +skew), (-skew, -skew), (0.0, -skew)]
        for case, (creator_at, recreator_at) in enumerate(cases):
            name = f"job-{case}"
            creator = make_store(clock=time_.at(creator_at), clock_skew_bound=skew)
            recreator = make_store(clock=time_.at(recreator_at), clock_skew_bound=skew)
            lease = creator.acquire(name, A, self.ttl)
            tokens = [lease.token]
            for _ in range(BURST):
                time_.advance(ROUND_TRIP)
                lease = creator.acquire(name, A, self.ttl)
                tokens.append(lease.token)
            creator.release(lease)
            time_.advance(2 * skew + 0.001)  # inside the contract: more than 2A later
            creator.delete_record(name)
            again = recreator.acquire(name, B, self.ttl)
            assert again.token > max(tokens), (creator_at, recreator_at)
            recreator.release(again)

    def test_a_deletion_within_2a_of_the_last_grant_is_what_purge_refuses(
        self, make_store: StoreFactory, clock: FakeClock
    ) -> None:
        """Outside the contract (deleted right after a grant by a clock at +A, re-created by a
        clock at -A) the token goes down: that is why ``purge`` refuses, until 2A have passed."""
        skew = self.skew
        time_ = SkewedClocks(clock)
        ahead = make_store(clock=time_.at(+skew), clock_skew_bound=skew)
        behind = make_store(clock=time_.at(-skew), clock_skew_bound=skew)
        granted = ahead.acquire("job", A, self.ttl)
        ahead.release(granted)
        with pytest.raises(PurgeRefused, match="retry in") as caught:
            purge(behind, "job", in_flight=0)
        assert caught.value.retry_in == pytest.approx(4 * skew, abs=0.01)  # token is at +A
        ahead.delete_record("job")  # what purge refused: a deletion within 2A
        regressed = behind.acquire("job", B, self.ttl)
        assert regressed.token < granted.token  # the demonstration: keep to the contract
        behind.release(regressed)
        time_.advance(2 * skew + 0.001)  # more than 2A after every grant: purge goes ahead
        assert purge(ahead, "job", in_flight=0) is not None
        assert behind.acquire("job", A, self.ttl).token > granted.token

    def test_purge_refuses_a_held_record_and_deletes_a_free_one(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        assert purge(store, "job") is None  # nothing to delete
        lease = store.acquire("job", A, self.ttl)
        with pytest.raises(PurgeRefused, match="release it first") as caught:
            purge(store, "job", in_flight=0)
        assert caught.value.retry_in is None and caught.value.record.holder == A
        store.release(lease)
        clock.advance(2.5)
        with pytest.raises(PurgeRefused, match="retry in"):
            purge(store, "job", in_flight=1)  # 2 x the default bound of 1 s + 1 s in flight
        clock.advance(0.6)
        assert purge(store, "job", in_flight=1) == store.get("job") or store.get("job") is None
        assert store.get("job") is None
        assert store.acquire("job", B, self.ttl).token > lease.token

    def test_an_older_client_and_this_one_on_one_record_only_raise_tokens(
        self, store: BaseStore, clock: FakeClock, caplog: pytest.LogCaptureFixture
    ) -> None:
        """A rolling upgrade: ms tokens (schema 1) and µs tokens (schema 2) on one record."""
        tokens: list[int] = []

        def take(holder: str, *, burst: int = 0) -> None:
            lease = store.acquire("job", holder, self.ttl)
            tokens.append(lease.token)
            for _ in range(burst):  # the older rule runs its ms tokens ahead of the clock
                lease = store.acquire("job", holder, self.ttl)
                tokens.append(lease.token)
            store.release(lease)
            clock.advance(0.001)

        with self.older_client(store):
            take(A, burst=BURST)  # a record made before the upgrade
        assert store.get("job").schema == LEGACY_SCHEMA  # type: ignore[union-attr]
        assert tokens[-1] > clock.wall_ms()  # ahead of the ms clock: the old defect
        with caplog.at_level(logging.WARNING, logger="cloudlease"):
            take(B)  # this client: lifted to µs, with a warning
        assert "older cloudlease" in caplog.text
        assert store.get("job").schema == SCHEMA  # type: ignore[union-attr]
        with self.older_client(store):
            take(A)  # an older client on a µs record: previous + 1
        take(B)
        assert all(later > earlier for earlier, later in itertools.pairwise(tokens))
        # An older client re-creating a deleted record writes an ms token: smaller, but marked.
        clock.advance(2 * self.skew + 0.001)
        store.delete_record("job")
        with self.older_client(store):
            take(A)
        assert tokens[-1] < tokens[-2]
        assert store.get("job").schema == LEGACY_SCHEMA  # type: ignore[union-attr]
        take(B)  # the next acquisition by this client is above every earlier token again
        assert tokens[-1] > max(tokens[:-1])

    # -- records ----------------------------------------------------------------------------

    def test_metadata_round_trips(self, store: BaseStore) -> None:
        metadata: dict[str, Any] = {"host": "h1", "pid": 42, "tags": ["a", "b"], "v": {"x": 1.5}}
        lease = store.acquire("job", A, self.ttl, metadata)
        assert lease.record.metadata == metadata
        record = store.get("job")
        assert record is not None and record.metadata == metadata

    def test_get_returns_none_for_an_unknown_lease_and_records_lists_all(
        self, store: BaseStore
    ) -> None:
        assert store.get("nobody") is None
        store.acquire("b-job", A, self.ttl)
        store.acquire("a-job", B, self.ttl)
        assert [record.name for record in store.records()] == ["a-job", "b-job"]

    def test_status_lists_every_lease_and_what_changed(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        """``cloudlease status --watch`` on this store: holder, token, held for, transitions
        and the change since the previous listing, read from ``records()``."""
        from cloudlease import status

        clock.autoadvance = True  # the watch's wait between listings moves fake time 1 s
        listings = status.watch(store, interval=1.0, count=3)
        a = store.acquire("a-job", A, self.ttl, {"v": 1})
        first = next(listings)
        assert first.changes == {}
        assert [status.row(r, first.snapshot.at_ms) for r in first.snapshot.records] == [
            ["a-job", A, str(a.token), "0.0s", f"{self.ttl:.1f}s", "1", ""]
        ]
        clock.advance(0.5)
        store.renew(a, self.ttl)
        store.release(store.acquire("b-job", B, self.ttl))
        second = next(listings)
        assert second.changes == {"a-job": "renewed", "b-job": "new"}
        cells = [status.row(r, second.snapshot.at_ms)[:4] for r in second.snapshot.records]
        assert cells[0][3] == "1.5s" and cells[1][1:4] == ["-", cells[1][2], "-"]
        store.force_release("a-job")
        taken = store.acquire("a-job", B, self.ttl)
        third = next(listings)
        assert third.changes == {"a-job": "new holder"}
        record = third.snapshot.by_name()["a-job"]
        assert (record.holder, record.token, record.transitions) == (B, taken.token, 2)
        assert "new holder" in status.table(third.snapshot, third.changes)[1]
        assert next(listings, None) is None  # count=3

    def test_names_with_every_allowed_character_work(self, store: BaseStore) -> None:
        name = "Job_1.daily:2026-01-01T00-00"
        store.acquire(name, A, self.ttl)
        record = store.get(name)
        assert record is not None and record.name == name

    # -- bad input --------------------------------------------------------------------------

    @pytest.mark.parametrize(
        "name", ["", "-starts-with-dash", "has space", "slash/inside", "x" * 201, "é", ".", ".."]
    )
    def test_bad_names_are_refused_before_any_request(self, store: BaseStore, name: str) -> None:
        faulty = FaultyStore(store)
        with pytest.raises(ConfigError) as caught:
            faulty.acquire(name, A, self.ttl)
        assert "lease name" in str(caught.value)
        assert sum(faulty.requests.values()) == 0

    @pytest.mark.parametrize("ttl", [0, -1, float("nan"), float("inf"), "10", None, True])
    def test_bad_durations_are_refused_before_any_request(self, store: BaseStore, ttl: Any) -> None:
        faulty = FaultyStore(store)
        with pytest.raises(ConfigError) as caught:
            faulty.acquire("job", A, ttl)
        assert "ttl" in str(caught.value) and "job" in str(caught.value)
        assert sum(faulty.requests.values()) == 0
        assert store.get("job") is None

    def test_ttl_outside_the_store_bounds_is_refused(self, store: BaseStore) -> None:
        caps = store.capabilities
        faulty = FaultyStore(store)
        too_short = caps.min_ttl / 2
        with pytest.raises(ConfigError, match="minimum"):
            faulty.acquire("job", A, too_short)
        if caps.max_ttl is not None:
            with pytest.raises(ConfigError, match="maximum"):
                faulty.acquire("job", A, caps.max_ttl * 2)
        assert sum(faulty.requests.values()) == 0

    @pytest.mark.parametrize(
        "metadata", [["not", "an", "object"], {"big": "x" * 2000}, {"obj": object()}, "text"]
    )
    def test_bad_metadata_is_refused_and_the_record_is_unchanged(
        self, store: BaseStore, metadata: Any
    ) -> None:
        lease = store.acquire("job", A, self.ttl)
        faulty = FaultyStore(store)
        with pytest.raises(ConfigError, match="metadata"):
            faulty.acquire("job", A, self.ttl, metadata)
        assert sum(faulty.requests.values()) == 0
        assert store.get("job") == lease.record

    def test_bad_holder_ids_are_refused(self, store: BaseStore) -> None:
        for holder in ["", " padded ", "tab\there", "x" * 201]:
            with pytest.raises(ConfigError, match="holder"):
                store.acquire("job", holder, self.ttl)
        assert store.get("job") is None

    # -- capabilities -----------------------------------------------------------------------

    def test_capabilities_are_declared(self, store: BaseStore) -> None:
        caps = store.capabilities
        assert caps.min_ttl > 0
        assert caps.max_ttl is None or caps.max_ttl >= caps.min_ttl
        assert caps.shared_across in {"process", "host", "network"}
        assert set(caps.round_trips) >= {"acquire", "renew", "release", "get", "steal"}
        assert self.ttl >= caps.min_ttl


@contextmanager
def _patched(owner: Any, attribute: str, value: Any) -> Iterator[None]:
    """Set ``owner.attribute`` to ``value`` for the duration of the block."""
    saved = getattr(owner, attribute)
    setattr(owner, attribute, value)
    try:
        yield
    finally:
        setattr(owner, attribute, saved)


class FencedWrites:
    """Mixed into the conformance class of a store with a fencing helper of its own (a write
    refused once a newer token holds the lease): the class defines ``fenced_write``. Stores
    without one do not include it, so the check is not generated for them (never skipped)."""

    ttl: float

    def fenced_write(self, store: BaseStore, lease: Lease) -> None:
        """One write fenced by ``lease`` with the store's own fencing helper; raise LeaseLost
        when refused."""
        raise NotImplementedError

    def test_a_fenced_write_with_the_stolen_token_is_refused(self, store: BaseStore) -> None:
        old = store.acquire("job", A, self.ttl)
        self.fenced_write(store, old)  # accepted while it holds
        stolen = store.steal("job", B, self.ttl)
        with pytest.raises(LeaseLost):
            self.fenced_write(store, old)
        self.fenced_write(store, stolen)


class SyncFencedWrites(FencedWrites):
    """``FencedWrites`` for a class run on both sides (the ``side`` fixture) whose fencing
    helpers are the sync store's alone: the check is generated for the sync side only."""

    @pytest.mark.parametrize("side", ["sync"], indirect=True)
    def test_a_fenced_write_with_the_stolen_token_is_refused(self, store: BaseStore) -> None:
        super().test_a_fenced_write_with_the_stolen_token_is_refused(store)
