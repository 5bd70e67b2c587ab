"""Lost responses, 5xx and throttling, injected at the botocore transport against real moto."""

from __future__ import annotations

from collections import Counter

import pytest
from botocore.config import Config

from cloudlease.errors import LeaseHeld, StoreUnavailable
from cloudlease.testing import FakeClock
from cloudlease_dynamodb import THROTTLING_CODES, DynamoDBStore
from tests.dynamodb.conftest import REGION, StoreMaker, session
from tests.dynamodb.wire import Wire


@pytest.mark.parametrize("kind", ["timeout", "reset", "5xx"])
def test_lost_acquire_response_leaves_the_caller_holding_the_lease_exactly_once(
    make_http_store: StoreMaker, kind: str
) -> None:
    store = make_http_store(clock=FakeClock())
    wire = Wire(store.client)
    wire.lose_response("UpdateItem", kind)
    lease = store.acquire("job", "holder-a", 10)
    # One write (applied, response lost), one read back; botocore did not retry on its own.
    assert wire.requests == Counter({"UpdateItem": 1, "GetItem": 1})
    record = store.get("job")
    assert record is not None
    assert (record.holder, record.token, record.transitions) == ("holder-a", lease.token, 1)
    with pytest.raises(LeaseHeld):
        store.acquire("job", "holder-b", 10)


def test_lost_reentry_response_is_resolved_by_the_attempts_expiry(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock()
    first = make_http_store(clock=clock).acquire("job", "holder-a", 10)
    clock.advance(1)
    store = make_http_store(clock=clock)  # has not seen the item: two UpdateItems
    wire = Wire(store.client)
    wire.inject("UpdateItem", lambda request: None)  # the takeover goes through untouched
    wire.lose_response("UpdateItem", "timeout")  # the re-entry is applied, its answer lost
    again = store.acquire("job", "holder-a", 10)
    assert again.token == first.token + 1
    record = store.get("job")
    assert record is not None and (record.token, record.transitions) == (again.token, 1)


@pytest.mark.parametrize("kind", ["timeout", "reset", "5xx"])
def test_lost_put_item_response_leaves_the_caller_holding_the_lease_exactly_once(
    make_http_store: StoreMaker, kind: str
) -> None:
    clock = FakeClock()
    store = make_http_store(clock=clock)
    first = store.acquire("job", "holder-a", 10)
    store.release(first)  # seen, free: the next acquire is one PutItem
    clock.advance(1)
    wire = Wire(store.client)
    wire.lose_response("PutItem", kind)
    lease = store.acquire("job", "holder-b", 10)
    assert wire.requests == Counter({"PutItem": 1, "GetItem": 1})
    record = store.get("job")
    assert record == lease.record and lease.token > first.token and record.transitions == 2
    with pytest.raises(LeaseHeld):
        make_http_store(clock=clock).acquire("job", "holder-c", 10)
    wire.reset()
    assert store.acquire("job", "holder-b", 10).token > lease.token  # re-entry, one PutItem
    assert wire.requests == Counter({"PutItem": 1})


def test_an_acquire_that_never_reached_the_store_raises_and_writes_nothing(
    make_http_store: StoreMaker,
) -> None:
    store = make_http_store(clock=FakeClock())
    wire = Wire(store.client)
    wire.respond("UpdateItem", "InternalServerError", status=500)
    with pytest.raises(StoreUnavailable, match="did not apply"):
        store.acquire("job", "holder-a", 10)
    assert store.get("job") is None
    assert store.acquire("job", "holder-a", 10).record.transitions == 1


def test_lost_renew_response_is_resolved_by_reading_back(make_http_store: StoreMaker) -> None:
    clock = FakeClock()
    store = make_http_store(clock=clock)
    lease = store.acquire("job", "holder-a", 10)
    clock.advance(3)
    wire = Wire(store.client)
    wire.lose_response("UpdateItem", "reset")
    renewed = store.renew(lease)
    assert renewed.expires_at == lease.expires_at + 3000
    assert wire.requests == Counter({"UpdateItem": 1, "GetItem": 1})


def test_retried_release_after_a_lost_response_is_harmless(make_http_store: StoreMaker) -> None:
    store = make_http_store(clock=FakeClock())
    lease = store.acquire("job", "holder-a", 10)
    wire = Wire(store.client)
    wire.lose_response("UpdateItem", "timeout")
    assert store.release(lease) is True
    assert store.release(lease) is False
    record = store.get("job")
    assert record is not None and (record.holder, record.token) == ("", lease.token)
    assert store.acquire("job", "holder-b", 10).token == lease.token + 1


def test_an_injected_client_that_retries_on_its_own_still_holds_once(moto_endpoint: str) -> None:
    """botocore retrying a conditional write after a lost response: the retry is refused by
    its own earlier success, sees this holder in ALL_OLD and re-enters. Correct, one more
    request, and the token is one higher."""
    from tests.dynamodb.conftest import create_table

    table = create_table(moto_endpoint)
    retrying = session().client(
        "dynamodb",
        region_name=REGION,
        endpoint_url=moto_endpoint,
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )
    store = DynamoDBStore(table, client=retrying, clock=FakeClock())
    wire = Wire(retrying)
    wire.lose_response("UpdateItem", "reset")
    lease = store.acquire("job", "holder-a", 10)
    # the lost takeover, botocore's retry of it (refused: we hold it), then the re-entry
    assert wire.requests == Counter({"UpdateItem": 3})
    record = store.get("job")
    assert record is not None
    assert (record.holder, record.token, record.transitions) == ("holder-a", lease.token, 1)
    assert record.acquired_at == lease.record.acquired_at


@pytest.mark.parametrize(
    "code",
    sorted(
        THROTTLING_CODES
        & {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}
    ),
)
def test_throttling_is_retried_with_backoff_on_the_store_clock(
    make_http_store: StoreMaker, code: str
) -> None:
    clock = FakeClock(autoadvance=True)
    store = make_http_store(clock=clock)
    wire = Wire(store.client)
    wire.respond("UpdateItem", code, times=3)
    before = clock.monotonic()
    lease = store.acquire("job", "holder-a", 10)
    assert wire.requests == Counter({"UpdateItem": 4})
    waited = clock.monotonic() - before
    assert 0.05 * (0.5 + 1 + 2) / 2 <= waited <= 0.05 * (1 + 2 + 4)  # jittered, doubling
    assert lease.record.transitions == 1


def test_throttling_past_the_budget_raises_store_unavailable_and_writes_nothing(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock(autoadvance=True)
    store = make_http_store(clock=clock, throttle_budget=3.0)
    wire = Wire(store.client)
    wire.respond("UpdateItem", "ProvisionedThroughputExceededException", times=1000)
    before = clock.monotonic()
    with pytest.raises(StoreUnavailable) as caught:
        store.acquire("job", "holder-a", 10)
    assert not caught.value.ambiguous
    assert "throttling" in str(caught.value) and store.table in str(caught.value)
    assert clock.monotonic() - before <= 3.0
    assert 5 <= wire.requests["UpdateItem"] < 1000
    assert wire.requests["GetItem"] == 0
    wire._faults.clear()
    assert store.get("job") is None


def test_renewal_throttling_gives_up_at_the_lease_deadline(make_http_store: StoreMaker) -> None:
    clock = FakeClock(autoadvance=True)
    store = make_http_store(clock=clock, throttle_budget=60.0)
    lease = store.acquire("job", "holder-a", 2)
    wire = Wire(store.client)
    wire.respond("UpdateItem", "ThrottlingException", times=1000)
    with pytest.raises(StoreUnavailable):
        store.renew(lease)
    assert clock.monotonic() <= lease.deadline
