"""What only the Firestore store has: requests per operation, the precondition path, lost
commits, contention, document layout, errors, fenced writes. On Google's emulator."""

from __future__ import annotations

import functools
import threading
from datetime import datetime, timezone
from typing import Any

import grpc
import pytest
from google.cloud import firestore

from cloudlease.errors import ConfigError, LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.store import BaseStore
from cloudlease.testing.clock import FakeClock
from cloudlease_firestore import FIELDS, TTL_FIELD, FirestoreStore, document_id, lease_name
from tests.firestore.interceptors import Interceptor

A, B = "holder-a", "holder-b"
TTL = 10.0
Code = grpc.StatusCode


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(make_store: Any, clock: FakeClock) -> FirestoreStore:
    made: FirestoreStore = make_store(clock=clock, takeover_allowance=0.0)
    return made


@pytest.fixture
def either(make_either: Any, clock: FakeClock) -> BaseStore:
    """The store on the sync side, then on the async side: the same requests on the wire."""
    made: BaseStore = make_either(clock=clock, takeover_allowance=0.0)
    return made


def counts(interceptor: Interceptor) -> dict[str, int]:
    found = dict(interceptor.requests)
    interceptor.reset()
    return found


# -- requests per operation ---------------------------------------------------------------


def test_acquire_takes_a_read_and_a_commit_and_renew_release_one_each(
    either: BaseStore, interceptor: Interceptor, clock: FakeClock
) -> None:
    store = either
    lease = store.acquire("job", A, TTL)  # first use: the commit's precondition is exists=False
    assert counts(interceptor) == {"BatchGetDocuments": 1, "Commit": 1}
    clock.advance(1)
    lease = store.renew(lease)
    assert counts(interceptor) == {"Commit": 1}
    lease = store.renew(lease)
    assert counts(interceptor) == {"Commit": 1}
    assert store.release(lease) is True
    assert counts(interceptor) == {"Commit": 1}
    store.get("job")
    assert counts(interceptor) == {"BatchGetDocuments": 1}
    lease = store.acquire("job", A, TTL)  # the document exists: precondition update_time
    assert counts(interceptor) == {"BatchGetDocuments": 1, "Commit": 1}
    store.acquire("job", A, TTL)  # re-entry: the same two requests
    assert counts(interceptor) == {"BatchGetDocuments": 1, "Commit": 1}
    assert store.capabilities.round_trips == {
        "acquire": 2,
        "refused": 1,
        "renew": 1,
        "release": 1,
        "get": 1,
        "steal": 2,
    }


def test_a_refused_acquire_is_one_read_and_writes_nothing(
    either: BaseStore, store: FirestoreStore, interceptor: Interceptor
) -> None:
    either.acquire("job", A, TTL)
    before = store.document("job").get().update_time
    interceptor.reset()
    with pytest.raises(LeaseHeld) as caught:
        either.acquire("job", B, TTL)
    assert counts(interceptor) == {"BatchGetDocuments": 1}
    assert caught.value.record is not None and caught.value.record.holder == A
    assert store.document("job").get().update_time == before


def test_a_steal_is_a_read_then_a_commit_on_the_update_time_it_read(
    either: BaseStore, store: FirestoreStore, interceptor: Interceptor
) -> None:
    old = either.acquire("job", A, TTL)
    interceptor.reset()
    stolen = either.steal("job", B, TTL)
    assert counts(interceptor) == {"BatchGetDocuments": 1, "Commit": 1}
    assert store.capabilities.round_trips["steal"] == 2
    assert stolen.token > old.token
    with pytest.raises(LeaseLost, match=B):
        either.renew(old)


def test_a_store_remembers_a_bounded_number_of_reads(
    store: FirestoreStore, interceptor: Interceptor
) -> None:
    store._seen.limit = 2
    for name in ("a", "b", "c", "d", "e"):
        store.acquire(name, A, TTL)
        store.get(name)  # a read of a document: remembered
        assert 1 <= len(store._seen) <= 2
    interceptor.reset()
    store.steal("c", B, TTL)  # what was forgotten costs nothing but memory: still 2 requests
    assert counts(interceptor) == {"BatchGetDocuments": 1, "Commit": 1}


def test_renew_after_takeover_reads_once_and_writes_nothing_more(
    either: BaseStore, interceptor: Interceptor, clock: FakeClock
) -> None:
    store = either
    lease = store.acquire("job", A, TTL)
    clock.advance(TTL + 1)
    store.acquire("job", B, TTL)
    interceptor.reset()
    with pytest.raises(LeaseLost, match=B):
        store.renew(lease)
    assert counts(interceptor) == {"Commit": 1, "BatchGetDocuments": 1}
    assert store.release(lease) is False
    assert counts(interceptor) == {"Commit": 1, "BatchGetDocuments": 1}


def test_foreign_write_that_keeps_the_holder_is_redone_on_the_read_that_found_it(
    store: FirestoreStore, interceptor: Interceptor, clock: FakeClock
) -> None:
    lease = store.acquire("job", A, TTL)
    # Someone edits the document (console, script) without taking the lease over.
    store.document("job").update({"note": "touched by an operator"})
    interceptor.reset()
    clock.advance(1)
    renewed = store.renew(lease)
    assert counts(interceptor) == {
        "Commit": 2,  # the precondition write, then the same write on the read's update_time
        "BatchGetDocuments": 1,  # the takeover check
    }
    assert renewed.expires_at == lease.expires_at + 1000
    assert store.get("job") == renewed.record
    interceptor.reset()
    store.renew(renewed)  # back on the single precondition write
    assert counts(interceptor) == {"Commit": 1}


# -- lost responses, contention -------------------------------------------------------------


@pytest.mark.parametrize("code", [Code.DEADLINE_EXCEEDED, Code.UNAVAILABLE])
def test_commit_applied_but_response_lost_holds_the_lease_exactly_once(
    either: BaseStore, interceptor: Interceptor, code: grpc.StatusCode
) -> None:
    store = either
    interceptor.fail("Commit", code, "response lost", when="after")
    lease = store.acquire("job", A, TTL)
    # One commit only: neither the SDK nor the store re-sent it.
    assert interceptor.requests["Commit"] == 1
    record = store.get("job")
    assert record is not None
    assert (record.holder, record.token, record.transitions) == (A, lease.token, 1)
    with pytest.raises(LeaseHeld):
        store.acquire("job", B, TTL)
    # The read-back learned the document's update_time: renew stays one request.
    interceptor.reset()
    store.renew(lease)
    assert counts(interceptor) == {"Commit": 1}


def test_commit_that_never_arrived_is_reported_not_hidden(
    either: BaseStore, interceptor: Interceptor
) -> None:
    store = either
    interceptor.fail("Commit", Code.UNAVAILABLE, "connection reset", when="before")
    with pytest.raises(StoreUnavailable, match="did not apply") as caught:
        store.acquire("job", A, TTL)
    assert not caught.value.ambiguous
    assert store.get("job") is None
    assert store.acquire("job", A, TTL).holder == A


def test_lost_renew_response_keeps_the_lease_and_the_next_renew_is_one_request(
    either: BaseStore, interceptor: Interceptor, clock: FakeClock
) -> None:
    store = either
    lease = store.acquire("job", A, TTL)
    clock.advance(1)
    interceptor.fail("Commit", Code.DEADLINE_EXCEEDED, "response lost", when="after")
    renewed = store.renew(lease)
    assert renewed.expires_at == lease.expires_at + 1000
    interceptor.reset()
    clock.advance(1)
    assert store.renew(renewed).expires_at == lease.expires_at + 2000
    assert counts(interceptor) == {"Commit": 1}


def test_an_aborted_commit_is_sent_again_on_the_same_read(
    either: BaseStore, interceptor: Interceptor
) -> None:
    store = either
    interceptor.fail("Commit", Code.ABORTED, "Transaction lock timeout.")
    lease = store.acquire("job", A, TTL)
    assert counts(interceptor) == {"BatchGetDocuments": 1, "Commit": 2}
    record = store.get("job")
    assert record is not None and (record.token, record.transitions) == (lease.token, 1)


@pytest.mark.parametrize("first_use", [True, False], ids=["exists-false", "update-time"])
def test_a_takeover_between_our_read_and_our_commit_is_seen_on_one_more_read(
    store: FirestoreStore,
    make_store: Any,
    interceptor: Interceptor,
    clock: FakeClock,
    first_use: bool,
) -> None:
    other = make_store(clock=clock, takeover_allowance=0.0)
    if not first_use:
        store.acquire("job", A, TTL)
        clock.advance(TTL + 1)  # expired: free for B and C alike
    interceptor.before("Commit", lambda: other.acquire("job", "holder-c", TTL))
    interceptor.reset()
    with pytest.raises(LeaseHeld, match="holder-c"):
        store.acquire("job", B, TTL)
    # B: read, commit (precondition failed, nothing written), read; C: read, commit.
    assert counts(interceptor) == {"BatchGetDocuments": 3, "Commit": 2}
    record = store.get("job")
    assert record is not None and record.holder == "holder-c"
    assert record.transitions == (1 if first_use else 2)


def test_a_foreign_write_between_read_and_commit_is_decided_again(
    store: FirestoreStore, interceptor: Interceptor, clock: FakeClock
) -> None:
    first = store.acquire("job", A, TTL)
    clock.advance(TTL + 1)
    interceptor.before("Commit", lambda: store.document("job").update({"note": "operator"}))
    lease = store.acquire("job", B, TTL)
    assert lease.token > first.token
    record = store.get("job")
    assert record == lease.record and record.transitions == 2


def test_overtaken_beyond_the_budget_ends_in_store_unavailable_with_nothing_written(
    make_store: Any, interceptor: Interceptor, emulator: Any, collection: str
) -> None:
    store = make_store(max_attempts=2)
    assert store.release(store.acquire("job", A, TTL))
    # Another client (not through the interceptor) edits the document before each commit.
    document = firestore.Client(project=emulator.project).collection(collection).document("job")
    for n in range(2):  # (a write that changes nothing keeps the update_time)
        interceptor.before("Commit", functools.partial(document.update, {"note": f"busy {n}"}))
    with pytest.raises(StoreUnavailable, match="overtaken 2 time") as caught:
        store.acquire("job", B, TTL)
    assert not caught.value.ambiguous
    record = store.get("job")
    assert record is not None and record.holder == ""
    for _ in range(2):
        interceptor.fail("Commit", Code.ABORTED, "Transaction lock timeout.")
    with pytest.raises(StoreUnavailable, match="2 time"):
        store.acquire("job", B, TTL)
    assert store.acquire("job", B, TTL).holder == B


def test_contenders_racing_on_a_free_lease_on_the_emulator_one_wins_the_rest_are_refused(
    make_store: Any,
) -> None:
    """Real races on the emulator: every contender may read the lease free; one commit lands,
    the others' preconditions fail and their second read refuses them. No lock, no wait."""
    stores = [make_store() for _ in range(6)]
    barrier = threading.Barrier(len(stores))
    outcomes: dict[str, Any] = {}

    def contend(store: FirestoreStore, holder: str) -> None:
        barrier.wait()
        try:
            outcomes[holder] = store.acquire("race", holder, TTL)
        except (LeaseHeld, StoreUnavailable) as exc:
            outcomes[holder] = exc

    threads = [
        threading.Thread(target=contend, args=(store, f"holder-{i}"))
        for i, store in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    winners = [h for h, outcome in outcomes.items() if not isinstance(outcome, Exception)]
    assert len(winners) == 1, outcomes
    refused = [h for h, outcome in outcomes.items() if isinstance(outcome, LeaseHeld)]
    assert len(refused) == len(stores) - 1, outcomes
    record = stores[0].get("race")
    assert record is not None and record.holder == winners[0] and record.transitions == 1


# -- document layout ------------------------------------------------------------------------


def test_document_holds_the_documented_plain_fields_and_a_ttl_timestamp(
    make_store: Any, clock: FakeClock
) -> None:
    store = make_store(clock=clock, cleanup_after=3600)
    lease = store.acquire("job.daily:1", A, TTL, {"host": "h1"})
    snapshot = store.document("job.daily:1").get()
    assert snapshot.id == "job.daily:1"
    data = snapshot.to_dict()
    assert set(data) == set(FIELDS)
    assert data["name"] == "job.daily:1"
    assert (data["holder"], data["token"], data["expires_at"]) == (
        A,
        lease.token,
        lease.expires_at,
    )
    assert data["metadata"] == '{"host":"h1"}'
    cleanup = data[TTL_FIELD]
    assert TTL_FIELD == "cleanup_at"
    assert isinstance(cleanup, datetime)
    expected = datetime.fromtimestamp((lease.expires_at + 3_600_000) / 1000, timezone.utc)
    assert cleanup == expected
    clock.advance(5)
    renewed = store.renew(lease)
    assert store.document("job.daily:1").get().get(TTL_FIELD) == datetime.fromtimestamp(
        (renewed.expires_at + 3_600_000) / 1000, timezone.utc
    )


@pytest.mark.parametrize("name", ["a/b", ".", "..", "__reserved__", "x" * 1501])
def test_names_firestore_would_reject_are_refused_by_the_mapping(name: str) -> None:
    with pytest.raises(ConfigError):
        document_id(name)


def test_document_id_mapping_is_the_identity_and_reversible() -> None:
    for name in ["job", "Job_1.daily:2026-01-01T00-00", "a" * 200]:
        assert lease_name(document_id(name)) == name == document_id(name)


def test_a_document_cloudlease_did_not_write_is_reported_as_corrupt(
    store: FirestoreStore,
) -> None:
    from cloudlease.errors import CorruptRecord

    store.document("job").set({"holder": 3, "token": "x"})
    with pytest.raises(CorruptRecord, match="not a cloudlease lease record") as caught:
        store.get("job")
    assert store.url in str(caught.value)
    with pytest.raises(CorruptRecord):
        store.acquire("job", A, TTL)
    assert store.document("job").get().to_dict() == {"holder": 3, "token": "x"}


# -- fenced writes --------------------------------------------------------------------------


def _fenced_write(store: FirestoreStore, lease: Any, target: str, value: str) -> None:
    @firestore.transactional
    def write(transaction: firestore.Transaction) -> None:
        store.fence(transaction, lease)
        transaction.set(
            store.client.collection(target).document("row"), {"value": value, "by": lease.token}
        )

    write(store.client.transaction())


def test_fenced_write_lands_for_the_holder_and_writes_nothing_after_a_takeover(
    store: FirestoreStore, clock: FakeClock, collection: str
) -> None:
    target = f"{collection}_data"
    old = store.acquire("job", A, TTL)
    _fenced_write(store, old, target, "first")
    clock.advance(TTL + 1)
    new = store.acquire("job", B, TTL)
    with pytest.raises(LeaseLost, match="nothing was written") as caught:
        _fenced_write(store, old, target, "stale")
    assert B in str(caught.value)
    row = store.client.collection(target).document("row").get().to_dict()
    assert row == {"value": "first", "by": old.token}
    _fenced_write(store, new, target, "second")
    assert store.client.collection(target).document("row").get().get("by") == new.token
    store.release(new)
    with pytest.raises(LeaseLost, match="released"):
        _fenced_write(store, new, target, "after release")
