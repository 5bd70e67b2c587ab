"""Exactly one request per operation, counted on the wire with a botocore hook."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest

from cloudlease.errors import LeaseHeld
from cloudlease.records import AcquireRequest
from cloudlease.testing import FakeClock
from cloudlease_dynamodb import expressions
from cloudlease_dynamodb.schema import AttributeNames
from cloudlease_dynamodb.store import DynamoDBCore
from tests.dynamodb.conftest import StoreMaker
from tests.dynamodb.test_conformance import no_replace
from tests.dynamodb.wire import Wire


def test_a_steal_is_one_read_and_one_conditional_update(make_http_store: StoreMaker) -> None:
    clock = FakeClock()
    store = make_http_store(clock=clock)
    stealer = make_http_store(clock=clock)
    old = store.acquire("job", "holder-a", 10)
    wire = Wire(stealer.client)
    stolen = stealer.steal("job", "holder-b", 10)
    assert wire.requests == Counter({"GetItem": 1, "UpdateItem": 1})
    assert stealer.capabilities.round_trips["steal"] == sum(wire.requests.values())
    assert stolen.token > old.token


def test_acquire_renew_release_and_a_refused_acquire_cost_one_request_each(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock()
    store = make_http_store(clock=clock)
    other = make_http_store(clock=clock)
    wire = Wire(store.client)

    lease = store.acquire("job", "holder-a", 10)
    assert wire.requests == Counter({"UpdateItem": 1})

    wire.reset()
    clock.advance(2)
    lease = store.renew(lease)
    assert wire.requests == Counter({"UpdateItem": 1})

    seen = Wire(other.client)
    for expected in ("UpdateItem", "PutItem"):  # never seen the item, then seen it (ALL_OLD)
        with pytest.raises(LeaseHeld) as caught:
            other.acquire("job", "holder-b", 10)
        assert seen.requests == Counter({expected: 1})
        assert caught.value.record is not None and caught.value.record.holder == "holder-a"
        seen.reset()

    wire.reset()
    assert store.release(lease) is True
    assert wire.requests == Counter({"UpdateItem": 1})

    wire.reset()
    assert store.get("job") is not None
    assert wire.requests == Counter({"GetItem": 1})

    lease = other.acquire("job", "holder-b", 10)  # free now: the same single PutItem
    assert seen.requests == Counter({"PutItem": 1})
    assert store.get("job") == lease.record
    assert lease.record.transitions == 2 and lease.record.acquired_at == clock.wall_ms()


def test_reentry_is_one_put_item_once_seen_and_two_updates_otherwise(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock()
    store = make_http_store(clock=clock)
    first = store.acquire("job", "holder-a", 10)
    clock.advance(1)
    wire = Wire(store.client)
    again = store.acquire("job", "holder-a", 10)
    assert wire.requests == Counter({"PutItem": 1})
    assert again.token > first.token
    assert (again.record.transitions, again.record.acquired_at) == (1, first.record.acquired_at)
    assert store.get("job") == again.record
    assert store.capabilities.round_trips["reentry"] == 1

    restarted = make_http_store(clock=clock)  # the same holder id, a store that saw nothing
    wire = Wire(restarted.client)
    third = restarted.acquire("job", "holder-a", 10)
    assert wire.requests == Counter({"UpdateItem": 2})
    assert third.token == again.token + 1
    assert (third.record.transitions, third.record.acquired_at) == (1, first.record.acquired_at)
    assert store.capabilities.round_trips["reentry_unseen"] == 2


def test_a_takeover_of_an_expired_lease_costs_one_request(make_http_store: StoreMaker) -> None:
    clock = FakeClock()
    old = make_http_store(clock=clock, takeover_allowance=0.5).acquire("job", "holder-a", 10)
    clock.advance(11)
    unseen = make_http_store(clock=clock, takeover_allowance=0.5)  # never saw the item: UpdateItem
    wire = Wire(unseen.client)
    new = unseen.acquire("job", "holder-b", 10)
    assert wire.requests == Counter({"UpdateItem": 1})
    assert (new.token, new.record.transitions) == (old.token + 1, 2)
    waiter = make_http_store(clock=clock, takeover_allowance=0.5)
    with pytest.raises(LeaseHeld):
        waiter.acquire("job", "holder-c", 10)  # a waiter has seen the holder's item: PutItem
    clock.advance(11)
    wire = Wire(waiter.client)
    last = waiter.acquire("job", "holder-c", 10)
    assert wire.requests == Counter({"PutItem": 1})
    assert last.token > new.token and last.record.transitions == 3


def test_a_seen_item_that_changed_hands_since_is_refused_or_taken_afresh(
    make_http_store: StoreMaker,
) -> None:
    clock = FakeClock()
    store = make_http_store(clock=clock, takeover_allowance=0.5)
    other = make_http_store(clock=clock, takeover_allowance=0.5)
    store.release(store.acquire("job", "holder-a", 10))  # seen: released, token T
    taken = other.acquire("job", "holder-b", 10)  # token changes behind store's back
    wire = Wire(store.client)
    with pytest.raises(LeaseHeld, match="holder-b"):
        store.acquire("job", "holder-a", 10)  # the PutItem on token T fails: ALL_OLD says who
    assert wire.requests == Counter({"PutItem": 1})

    other.release(taken)
    other.release(other.acquire("job", "holder-b", 10))  # changed again, free
    wire.reset()
    lease = store.acquire("job", "holder-a", 10)  # stale token: the update decides afresh
    assert wire.requests == Counter({"PutItem": 1, "UpdateItem": 1})
    assert lease.token > taken.token and store.get("job") == lease.record

    clock.advance(10)  # deleted well after the last grant (docs/tokens.md)
    store.delete_record("job")
    wire.reset()
    fresh = store.acquire("job", "holder-a", 10)  # gone since seen: created by the update
    assert wire.requests == Counter({"PutItem": 1, "UpdateItem": 1})
    assert fresh.record.transitions == 1 and fresh.token > lease.token


def test_without_put_item_permission_the_store_keeps_to_update_item(
    make_http_store: StoreMaker, caplog: pytest.LogCaptureFixture
) -> None:
    store = make_http_store(clock=FakeClock())
    store.release(store.acquire("job", "holder-a", 10))
    wire = Wire(store.client)
    wire.respond("PutItem", "AccessDeniedException", status=400)
    with caplog.at_level(logging.WARNING, logger="cloudlease.dynamodb"):
        lease = store.acquire("job", "holder-a", 10)
    assert "dynamodb:PutItem" in caplog.text
    assert wire.requests == Counter({"PutItem": 1, "UpdateItem": 1})
    store.release(lease)
    wire.reset()
    store.acquire("job", "holder-a", 10)
    assert wire.requests == Counter({"UpdateItem": 1})


# The takeover condition of the release before issue 22 (every attribute's type checked).
PREVIOUS_TAKEOVER = (
    f"attribute_not_exists(#key) OR ({expressions._WELL_FORMED} AND #schema = :schema "
    "AND #holder <> :holder AND (#holder = :free OR #expires_at < :stale_before))"
)


@contextmanager
def previous_release() -> Iterator[None]:
    """The store as the release before issue 22 wrote: its takeover condition, no PutItem."""
    with (
        mock.patch.object(expressions, "TAKEOVER_CONDITION", PREVIOUS_TAKEOVER),
        mock.patch.object(DynamoDBCore, "_replace", no_replace),
    ):
        yield


def test_the_previous_release_and_this_one_take_each_others_records_over(
    make_http_store: StoreMaker,
) -> None:
    """A fleet being upgraded: records written by either are read and taken over by the other
    (the item is the same; only the requests changed)."""
    clock = FakeClock()
    old_store = make_http_store(clock=clock, takeover_allowance=0.5)
    new_store = make_http_store(clock=clock, takeover_allowance=0.5)
    item: dict[str, Any] = {"TableName": old_store.table, "Key": old_store.requests.key("job")}
    with previous_release():
        old = old_store.acquire("job", "holder-a", 10)
    shape = set(old_store.client.get_item(**item)["Item"])
    clock.advance(11)
    new = new_store.acquire("job", "holder-b", 10)  # never seen: the shorter takeover
    assert (new.token, new.record.transitions) == (old.token + 1, 2)
    assert set(new_store.client.get_item(**item)["Item"]) == shape
    clock.advance(11)
    with previous_release():
        again = old_store.acquire("job", "holder-a", 10)
        assert old_store.get("job") == again.record
    assert (again.token, again.record.transitions) == (new.token + 1, 3)
    new_store.get("job")  # seen: the next acquisition is a PutItem, read by the previous release
    clock.advance(11)
    last = new_store.acquire("job", "holder-b", 10)
    assert set(new_store.client.get_item(**item)["Item"]) == shape
    with previous_release():
        assert old_store.get("job") == last.record
    assert last.token > again.token and last.record.transitions == 4


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


def test_each_request_gets_its_own_names_and_only_the_values_it_uses() -> None:
    """Requests keeps each expression's placeholders (worked out once, not per request); the
    ExpressionAttributeNames it hands out are a copy, so a caller's hook that edits one request
    cannot change the next, and a value the expressions do not use is never sent."""
    requests = expressions.Requests("leases", AttributeNames(holder="owner"), 1000)
    first = requests.renew("job", "holder-a", 7, 1_000, 10_000)
    first["ExpressionAttributeNames"]["#holder"] = "tampered"
    second = requests.renew("job", "holder-a", 7, 2_000, 10_000)
    assert second["ExpressionAttributeNames"] == {
        "#holder": "owner",
        "#token": "token",
        "#expires_at": "expires_at",
        "#renewed_at": "renewed_at",
        "#ttl": "purge_at",
    }
    assert set(second["ExpressionAttributeValues"]) == {
        ":holder",
        ":token",
        ":expires_at",
        ":now_ms",
        ":purge_at",
    }
    assert second["ExpressionAttributeValues"][":now_ms"] == {"N": "2000"}
