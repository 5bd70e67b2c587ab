"""Exactly one request per operation, counted on the wire with a botocore hook."""

from __future__ import annotations

from collections import Counter

import pytest

from cloudlease.errors import LeaseHeld
from cloudlease.testing import FakeClock
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
