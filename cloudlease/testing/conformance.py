"""The store conformance suite: every store runs these tests unchanged.

Subclass ``ConformanceSuite`` in a test module and provide a ``make_store`` fixture that returns
a factory ``make_store(clock=FakeClock, skew_allowance=seconds) -> BaseStore``, each call on
a fresh, empty namespace (table, collection, container) or the same one, as the store allows::

    class TestMyStore(ConformanceSuite):
        @pytest.fixture
        def make_store(self, tmp_path):
            return lambda **options: MyStore(..., **options)

Stores whose expiry is the server's (``capabilities.server_side_expiry``) let real time pass
in the expiry tests; the others only advance the FakeClock.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest

from cloudlease.errors import ConfigError, LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.store import BaseStore
from cloudlease.testing.clock import FakeClock
from cloudlease.testing.faults import FaultyStore

StoreFactory = Callable[..., BaseStore]

A = "holder-a"
B = "holder-b"


class ConformanceSuite:
    """The store contract of DESIGN.md, as tests. Override ``ttl`` for stores with bounds."""

    #: The ttl used by the tests (seconds); stores with a minimum (Azure: 15 s) override it.
    ttl: float = 10.0
    #: Skew allowance used by the skew test (seconds).
    skew: float = 2.0

    # -- fixtures ---------------------------------------------------------------------------

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    @pytest.fixture
    def store(self, make_store: StoreFactory, clock: FakeClock) -> BaseStore:
        return make_store(clock=clock, skew_allowance=0.0)

    def let_expire(self, store: BaseStore, clock: FakeClock, seconds: float) -> None:
        """Let ``seconds`` pass for the store: fake time, plus real time for server expiry."""
        if store.capabilities.server_side_expiry:
            time.sleep(seconds)
        clock.advance(seconds)

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
        old = store.acquire("job", A, self.ttl)
        self.let_expire(store, clock, self.ttl + 1)
        new = store.acquire("job", B, self.ttl)
        assert new.token > old.token
        record = store.get("job")
        assert record is not None
        assert (record.holder, record.transitions) == (B, 2)

    def test_takeover_waits_for_the_skew_allowance(
        self, make_store: StoreFactory, clock: FakeClock
    ) -> None:
        store = make_store(clock=clock, skew_allowance=self.skew)
        store.acquire("job", A, self.ttl)
        self.let_expire(store, clock, self.ttl + self.skew / 2)
        with pytest.raises(LeaseHeld):
            store.acquire("job", B, self.ttl)
        clock.advance(self.skew / 2 + 0.01)
        assert store.acquire("job", B, self.ttl).holder == B

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
        lease = store.acquire("job", A, self.ttl)
        self.let_expire(store, clock, self.ttl + 1)
        taken = store.acquire("job", B, self.ttl)
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
        lease = store.acquire("job", A, self.ttl)
        self.let_expire(store, clock, self.ttl + 1)
        taken = store.acquire("job", B, self.ttl)
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
        assert set(caps.round_trips) >= {"acquire", "renew", "release", "get"}
        assert self.ttl >= caps.min_ttl
