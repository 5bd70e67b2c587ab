"""Requests per operation and lost responses, counted and injected below the SDK's retries."""

from __future__ import annotations

import pytest
from azure.storage.blob import BlobLeaseClient

from cloudlease.errors import LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.testing.clock import FakeClock
from tests.azure_blob.azurite import Azurite

TTL = 15


def lease_state(azurite: Azurite, container: str, name: str) -> str:
    client = azurite.container_client(container).get_blob_client("cloudlease/" + name)
    return str(client.get_blob_properties().lease.state)


def test_requests_per_operation(azurite: Azurite, container: str) -> None:
    store, wire = azurite.store(container, clock=FakeClock())
    first = store.acquire("job", "a", TTL)
    assert wire.total() == 4  # first use: read (404), create, acquire, write
    store.release(first)
    wire.reset()
    lease = store.acquire("job", "a", TTL)
    assert dict(wire.requests) == {"get_properties": 1, "lease:acquire": 1, "put:metadata": 1}
    wire.reset()
    lease = store.renew(lease)
    assert dict(wire.requests) == {"lease:renew": 1}
    wire.reset()
    with pytest.raises(LeaseHeld):
        store.acquire("job", "b", TTL)
    assert wire.total() == 1
    wire.reset()
    again = store.acquire("job", "a", TTL)  # re-entry
    assert dict(wire.requests) == {
        "get_properties": 1,
        "lease:acquire": 1,  # restarts the blob lease's period (a change keeps its expiry)
        "lease:change": 1,
        "put:metadata": 1,
    }
    wire.reset()
    assert store.release(again) is True
    assert dict(wire.requests) == {"put:metadata": 1, "lease:release": 1}
    wire.reset()
    store.get("job")
    assert wire.total() == 1


def test_a_steal_breaks_the_blob_lease_once_then_takes_it(azurite: Azurite, container: str) -> None:
    store, _ = azurite.store(container, clock=FakeClock())
    stealer, wire = azurite.store(container, clock=FakeClock())
    old = store.acquire("job", "a", TTL)
    stolen = stealer.steal("job", "b", TTL)
    assert dict(wire.requests) == {
        "get_properties": 3,  # the steal's read, the acquire's, and after the break
        "lease:break": 1,
        "lease:acquire": 1,
        "put:metadata": 1,
    }
    assert stealer.capabilities.round_trips["steal"] == wire.total()
    assert stolen.token > old.token
    with pytest.raises(LeaseLost):
        store.renew(old)


def test_reentry_hands_out_a_new_blob_lease_so_the_old_grant_is_dead(
    azurite: Azurite, container: str
) -> None:
    clock = FakeClock()
    store, _ = azurite.store(container, clock=clock)
    first = store.acquire("job", "a", TTL)
    clock.advance(1)
    again = store.acquire("job", "a", TTL)
    assert again.token > first.token and again.store_state != first.store_state
    with pytest.raises(LeaseLost):
        store.renew(first)
    assert store.release(first) is False
    assert store.renew(again).token == again.token


def test_lost_acquire_response_is_retried_idempotently_and_held_once(
    azurite: Azurite, container: str
) -> None:
    clock = FakeClock()
    store, wire = azurite.store(container, clock=clock)
    store.release(store.acquire("job", "a", TTL))  # the blob exists
    wire.reset()
    wire.fail("lease:acquire", "lost")  # Azurite grants the lease, the response is lost
    lease = store.acquire("job", "b", TTL)
    assert wire.requests["lease:acquire"] == 2  # the SDK retried with the same lease id
    record = store.get("job")
    assert record is not None
    assert (record.holder, record.token, record.transitions) == ("b", lease.token, 2)
    with pytest.raises(LeaseHeld):
        store.acquire("job", "c", TTL)
    assert store.renew(lease).token == lease.token  # the one blob lease is ours


def test_lost_record_write_response_is_retried_and_held_once(
    azurite: Azurite, container: str
) -> None:
    store, wire = azurite.store(container, clock=FakeClock())
    wire.fail("put:metadata", "lost")
    lease = store.acquire("job", "a", TTL)
    assert wire.requests["put:metadata"] == 2
    record = store.get("job")
    assert record is not None and (record.holder, record.token) == ("a", lease.token)
    assert store.release(lease) is True


def failed_acquire(azurite: Azurite, container: str, step: str, kind: str) -> StoreUnavailable:
    """A second holder's acquire fails at ``step`` (every attempt ``kind``): the blob lease is
    given back, the record is as it was, and a third holder takes it at once."""
    store, wire = azurite.store(container, clock=FakeClock())
    store.release(store.acquire("job", "a", TTL))
    before = store.get("job")
    wire.fail(step, kind, times=4)  # every retry fails the same way
    with pytest.raises(StoreUnavailable) as caught:
        store.acquire("job", "b", TTL)
    assert "released" in str(caught.value)
    assert store.get("job") == before
    assert lease_state(azurite, container, "job") == "available"
    assert store.acquire("job", "c", TTL).holder == "c"  # nobody is left waiting on a lapse
    return caught.value


def test_acquire_whose_responses_stay_lost_gives_the_blob_lease_back(
    azurite: Azurite, container: str
) -> None:
    failed_acquire(azurite, container, "lease:acquire", "lost")


def test_failure_between_lease_and_token_releases_the_blob_lease(
    azurite: Azurite, container: str
) -> None:
    # the token write never gets through: nothing was written, a retry is safe
    assert not failed_acquire(azurite, container, "put:metadata", "unsent").ambiguous


def test_release_that_cannot_release_the_blob_lease_still_clears_the_holder(
    azurite: Azurite, container: str
) -> None:
    store, wire = azurite.store(container, clock=FakeClock())
    lease = store.acquire("job", "a", TTL)
    wire.fail("lease:release", "unsent", times=4)
    assert store.release(lease) is True
    record = store.get("job")
    assert record is not None and record.holder == ""
    assert lease_state(azurite, container, "job") == "leased"  # lapses at its 15 s
    BlobLeaseClient(
        azurite.container_client(container).get_blob_client("cloudlease/job")
    ).break_lease(0)
