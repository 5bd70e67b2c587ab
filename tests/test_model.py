"""The lease model, the record rules and the input rules, without a store."""

from __future__ import annotations

from datetime import timedelta

import pytest

from cloudlease import ConfigError, LeaseHeld, LeaseLost
from cloudlease import records as rules
from cloudlease._validation import METADATA_MAX_BYTES, check_metadata, check_name, to_seconds
from cloudlease.lease import LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.stores.memory import MemoryStore
from cloudlease.tenure import TimingPolicy
from cloudlease.testing import FakeClock


def request(holder: str = "a", now_ms: int = 10_000, allowance_ms: int = 0) -> AcquireRequest:
    return AcquireRequest("job", holder, 5_000, now_ms, allowance_ms, {})


def record(holder: str = "b", token: int = 7, expires_at: int = 12_000) -> LeaseRecord:
    return LeaseRecord("job", holder, token, expires_at, 1_000, 1_000, 3)


def test_a_fresh_record_starts_its_token_at_the_epoch_us() -> None:
    assert rules.next_token(None, 10_000_123) == 10_000_123
    assert rules.acquired(None, request()).token == 10_000_000  # no now_us: ms x 1000
    timed = AcquireRequest("job", "a", 5_000, 10_000, 0, {}, now_us=10_000_123)
    assert rules.acquired(None, timed).token == 10_000_123
    assert rules.acquired(None, timed).schema == rules.SCHEMA


def test_tokens_grow_by_at_least_one_and_catch_up_with_the_clock() -> None:
    assert rules.next_token(record(token=20_000_000), 10_000_000) == 20_000_001
    assert rules.next_token(record(token=7), 10_000_000) == 10_000_000


def test_a_millisecond_token_of_schema_1_is_lifted_to_microseconds() -> None:
    legacy = LeaseRecord("job", "", 10_000, 10_000, 1_000, 1_000, 3, schema=1)
    lifted = rules.acquired(legacy, request())
    assert (lifted.token, lifted.schema) == (10_000_000, rules.SCHEMA)


def test_can_acquire_cases() -> None:
    assert rules.can_acquire(None, request())
    assert rules.can_acquire(record(holder=""), request())
    assert rules.can_acquire(record(holder="a"), request())  # re-entry
    assert not rules.can_acquire(record(expires_at=12_000), request(now_ms=12_000))
    assert rules.can_acquire(record(expires_at=12_000), request(now_ms=12_001))
    assert not rules.can_acquire(
        record(expires_at=12_000), request(now_ms=12_500, allowance_ms=500)
    )
    assert rules.can_acquire(record(expires_at=12_000), request(now_ms=12_501, allowance_ms=500))


def test_transitions_count_holder_changes_only() -> None:
    assert rules.acquired(record(holder="b"), request("a")).transitions == 4
    reentered = rules.acquired(record(holder="a"), request("a"))
    assert reentered.transitions == 3 and reentered.acquired_at == 1_000


def test_release_keeps_the_token_and_sets_expiry_to_the_release_time() -> None:
    released = rules.released(record(expires_at=12_000), 11_000)
    assert (released.holder, released.token, released.expires_at) == ("", 7, 11_000)
    late = rules.released(record(expires_at=12_000), 13_000)  # DynamoDB's RELEASE_UPDATE too
    assert (late.holder, late.token, late.expires_at) == ("", 7, 13_000)


def test_durations_accept_seconds_and_timedeltas() -> None:
    assert to_seconds(timedelta(minutes=1), what="ttl") == 60.0
    assert to_seconds(2, what="ttl") == 2.0
    with pytest.raises(ConfigError, match="ttl must be"):
        to_seconds(timedelta(0), what="ttl")


def test_name_rule_allows_the_documented_set() -> None:
    for name in ["a", "Z9", "job.daily", "job:2026-01-01T00:00", "x" * 200, "a_b-c"]:
        assert check_name(name) == name


def test_metadata_is_normalised_and_limited() -> None:
    assert check_metadata(None) == {}
    assert check_metadata({"n": (1, 2)}) == {"n": [1, 2]}
    with pytest.raises(ConfigError, match="JSON-serialisable"):
        check_metadata({"n": float("nan")})
    with pytest.raises(ConfigError, match=r"str keys|JSON-serialisable"):
        check_metadata({1: "x"})
    limit = {"k": "x" * (METADATA_MAX_BYTES - 8)}
    assert check_metadata(limit) == limit
    with pytest.raises(ConfigError, match="over the limit"):
        check_metadata({"k": "x" * METADATA_MAX_BYTES})


def test_lease_deadline_counts_from_before_the_request() -> None:
    clock = FakeClock()
    store = MemoryStore(clock=clock, safety_margin=0.5)
    grant = store.acquire("job", "a", 10)
    assert grant.started == clock.monotonic()
    assert grant.deadline == clock.monotonic() + 10  # the store's grant: no margin of its own
    lease = TimingPolicy.for_store(store, lease="job", ttl=10).stamp(grant)
    assert lease.deadline == clock.monotonic() + 10 - 0.5  # the store's configured margin
    clock.advance(9.4)
    lease.ensure()
    assert lease.is_valid(min_remaining=0.05)
    clock.advance(0.1)
    assert not lease.is_valid()
    with pytest.raises(LeaseLost, match="past"):
        lease.ensure()


def test_errors_name_the_lease_and_the_store() -> None:
    store = MemoryStore("errors-demo", clock=FakeClock())
    store.acquire("job", "a", 10)
    with pytest.raises(LeaseHeld) as caught:
        store.acquire("job", "b", 10)
    assert str(caught.value).startswith("[lease 'job', store memory://errors-demo]")
    assert caught.value.lease == "job" and caught.value.store == "memory://errors-demo"


def test_import_cloudlease_loads_no_store_and_no_threads() -> None:
    import subprocess
    import sys

    code = (
        "import sys, cloudlease; "
        "print(sorted(m for m in sys.modules if m.startswith('cloudlease')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['cloudlease', 'cloudlease.errors']"
