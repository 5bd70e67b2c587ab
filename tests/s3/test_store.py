"""What only S3 has: request counts, ETag preconditions, 409 conflicts, throttling, lost
responses and racing writers, on moto over HTTP (faults injected at botocore's transport)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from cloudlease.errors import LeaseHeld, LeaseLost
from cloudlease.lease import Lease
from cloudlease.testing import FakeClock
from cloudlease_s3 import KIND, SCHEMA, S3State, S3Store
from tests.s3.conftest import StoreMaker
from tests.s3.wire import Wire
from tests.wire.object_stores import ObjectStoreWire

A, B = "holder-a", "holder-b"


def test_each_operation_is_one_conditional_put_plus_a_read_only_where_the_etag_is_unknown(
    objects: ObjectStoreWire,
) -> None:
    other = objects.assert_costs(S3State)
    assert other.capabilities.round_trips["acquire"] == 2
    assert other.capabilities.round_trips["acquire_known"] == 1


def test_a_refusal_is_never_decided_on_a_remembered_version(make_http_store: StoreMaker) -> None:
    clock = FakeClock()
    a, b = make_http_store(clock=clock), make_http_store(clock=clock)
    held = a.acquire("job", A, 10)
    with pytest.raises(LeaseHeld):
        b.acquire("job", B, 10)  # b now remembers A's grant
    a.release(held)
    wire = Wire(b.client)
    assert b.acquire("job", B, 10).holder == B  # b reads again rather than refuse
    assert wire.requests == Counter({"GetObject": 1, "PutObject": 1})


def test_a_stale_etag_is_refused_and_the_acquire_decides_again_on_a_fresh_read(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock()
    a, b = make_http_store(clock=clock), make_http_store(clock=clock)
    a.release(a.acquire("job", A, 10))  # a remembers the released version
    theirs = b.acquire("job", B, 10)  # the object changes behind a's back
    wire = Wire(a.client)
    with pytest.raises(LeaseHeld) as caught:
        a.acquire("job", A, 10)
    assert caught.value.record is not None and caught.value.record.holder == B
    # PUT If-Match: stale ETag -> 412; GET; refused on what it read. Nothing overwritten.
    assert wire.requests == Counter({"PutObject": 1, "GetObject": 1})
    assert a.get("job") == theirs.record


def test_renew_after_a_takeover_is_refused_by_the_etag_and_raises_lease_lost(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock()
    a, b = make_http_store(clock=clock), make_http_store(clock=clock)
    mine = a.acquire("job", A, 10)
    clock.advance(12)
    theirs = b.acquire("job", B, 10)
    with pytest.raises(LeaseLost, match=B):
        a.renew(mine)
    assert a.release(mine) is False
    assert b.get("job") == theirs.record


def test_a_409_conflict_is_retried_and_never_reported_as_held(make_http_store: StoreMaker) -> None:
    store = make_http_store(clock=FakeClock(autoadvance=True))
    wire = Wire(store.client)
    wire.respond("PutObject", "ConditionalRequestConflict", 409, times=2)
    lease = store.acquire("job", A, 10)
    assert wire.requests == Counter({"GetObject": 1, "PutObject": 3})
    assert store.get("job") == lease.record


def test_conflicts_past_the_retry_budget_raise_store_unavailable_and_write_nothing(
    objects: ObjectStoreWire,
) -> None:
    error, wire = objects.throttled_past_the_budget(
        lambda wire: wire.respond("PutObject", "ConditionalRequestConflict", 409, times=100), 0.5
    )
    assert "nothing was written" in str(error)
    assert 2 <= wire.requests["PutObject"] < 100  # backed off on the clock, then gave up


def test_slow_down_is_retried_with_backoff_on_the_stores_clock(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock(autoadvance=True)
    store = make_http_store(clock=clock)
    wire = Wire(store.client)
    wire.respond("GetObject", "SlowDown", 503, times=3)
    before = clock.monotonic()
    assert store.acquire("job", A, 10).holder == A
    assert wire.requests == Counter({"GetObject": 4, "PutObject": 1})
    assert clock.monotonic() > before  # it waited, on the FakeClock


@pytest.mark.parametrize("kind", ["timeout", "reset", "5xx"])
def test_a_lost_put_response_is_resolved_by_reading_back(
    objects: ObjectStoreWire, kind: str
) -> None:
    objects.assert_a_lost_write_is_read_back(kind)


def test_the_object_is_plain_json_that_names_the_holder(objects: ObjectStoreWire) -> None:
    lease, document = objects.stored_document(KIND, SCHEMA)
    assert document["record"] == {**lease.record.as_dict(), "metadata": {"host": "a"}}


def race(stores: list[S3Store], name: str) -> list[int]:
    """Every store tries to acquire ``name`` at once; the indexes of those that got it (their
    grants are released afterwards)."""
    winners: list[int] = []
    grants: list[Lease] = []
    barrier = threading.Barrier(len(stores))

    def contend(i: int) -> None:
        barrier.wait()
        try:
            grants.append(stores[i].acquire(name, f"holder-{i}", 10))
            winners.append(i)
        except LeaseHeld:
            pass

    threads = [threading.Thread(target=contend, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for grant in grants:
        stores[0].release(grant)
    return winners


def test_racing_contenders_on_one_key_get_exactly_one_grant_per_round(
    make_locked_store: StoreMaker,
) -> None:
    clock = FakeClock()
    stores = [make_locked_store(clock=clock) for _ in range(6)]
    tokens: list[int] = []
    for _ in range(4):
        winners = race(stores, "race")  # the winner releases after each round
        assert len(winners) == 1
        record = stores[0].get("race")
        assert record is not None and record.transitions == len(tokens) + 1
        tokens.append(record.token)
    assert tokens == sorted(set(tokens))
