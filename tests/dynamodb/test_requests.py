"""Exactly one request per operation, counted on the wire with a botocore hook."""

from __future__ import annotations

from collections import Counter
from unittest import mock

import pytest

from cloudlease.errors import LeaseHeld
from cloudlease.records import AcquireRequest
from cloudlease.testing import FakeClock
from cloudlease_dynamodb import expressions
from tests.dynamodb.conftest import StoreMaker
from tests.dynamodb.wire import Wire


def test_acquire_renew_release_and_a_refused_acquire_cost_one_request_each(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock()
    store = make_http_store(clock=clock)
    wire = Wire(store.client)

    lease = store.acquire("job", "holder-a", 10)
    assert wire.requests == Counter({"UpdateItem": 1})

    wire.reset()
    clock.advance(2)
    lease = store.renew(lease)
    assert wire.requests == Counter({"UpdateItem": 1})

    wire.reset()
    with pytest.raises(LeaseHeld) as caught:
        store.acquire("job", "holder-b", 10)
    assert wire.requests == Counter({"UpdateItem": 1})
    assert caught.value.record is not None and caught.value.record.holder == "holder-a"

    wire.reset()
    assert store.release(lease) is True
    assert wire.requests == Counter({"UpdateItem": 1})

    wire.reset()
    assert store.get("job") is not None
    assert wire.requests == Counter({"GetItem": 1})


def test_reentry_costs_two_requests_and_keeps_transitions(make_http_store: StoreMaker) -> None:
    store = make_http_store(clock=FakeClock())
    first = store.acquire("job", "holder-a", 10)
    wire = Wire(store.client)
    again = store.acquire("job", "holder-a", 10)
    assert wire.requests == Counter({"UpdateItem": 2})
    assert again.token == first.token + 1
    assert again.record.transitions == 1
    assert store.capabilities.round_trips["reentry"] == 2


def test_a_takeover_of_an_expired_lease_costs_one_request(make_http_store: StoreMaker) -> None:
    clock = FakeClock()
    store = make_http_store(clock=clock, skew_allowance=0.5)
    old = store.acquire("job", "holder-a", 10)
    clock.advance(11)
    wire = Wire(store.client)
    new = store.acquire("job", "holder-b", 10)
    assert wire.requests == Counter({"UpdateItem": 1})
    assert new.token == old.token + 1 and new.record.transitions == 2


# The takeover condition of the release before issue 22 (every attribute's type checked).
PREVIOUS_TAKEOVER = (
    f"attribute_not_exists(#key) OR ({expressions._WELL_FORMED} AND #schema = :schema "
    "AND #holder <> :holder AND (#holder = :free OR #expires_at < :stale_before))"
)


def test_the_previous_release_and_this_one_take_each_others_records_over(
    make_http_store: StoreMaker,
) -> None:
    """A fleet being upgraded: records written by either are read and taken over by the other
    (the item is the same; only the takeover condition got shorter)."""
    clock = FakeClock()
    store = make_http_store(clock=clock, skew_allowance=0.5)
    with mock.patch.object(expressions, "TAKEOVER_CONDITION", PREVIOUS_TAKEOVER):
        old = store.acquire("job", "holder-a", 10)
    shape = set(store.client.get_item(TableName=store.table, Key=store.requests.key("job"))["Item"])
    clock.advance(11)
    new = store.acquire("job", "holder-b", 10)
    assert (new.token, new.record.transitions) == (old.token + 1, 2)
    item = store.client.get_item(TableName=store.table, Key=store.requests.key("job"))["Item"]
    assert set(item) == shape
    clock.advance(11)
    with mock.patch.object(expressions, "TAKEOVER_CONDITION", PREVIOUS_TAKEOVER):
        again = store.acquire("job", "holder-a", 10)
        assert store.get("job") == again.record
    assert (again.token, again.record.transitions) == (new.token + 1, 3)


def test_the_takeover_condition_checks_no_attribute_types(make_http_store: StoreMaker) -> None:
    """Kept short (moto parses it on every request; docs/performance.md, the herd): an item
    written by cloudlease carries schema 2, and a foreign one without it is refused."""
    store = make_http_store(clock=FakeClock())
    params = store.requests.takeover(AcquireRequest("job", "holder-a", 10_000, 1, 0, {}))
    assert "attribute_type" not in params["ConditionExpression"]
    assert "#schema = :schema" in params["ConditionExpression"]
    assert set(params["ExpressionAttributeValues"]) == {
        ":holder",
        ":free",
        ":stale_before",
        ":now_ms",
        ":now_us",
        ":schema",
        ":one",
        ":zero",
        ":expires_at",
        ":metadata",
        ":purge_at",
    }
