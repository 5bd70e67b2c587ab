"""Fenced writes: the lease item's holder and token are checked in the same transaction."""

from __future__ import annotations

from typing import Any

import pytest

from cloudlease.errors import LeaseLost
from cloudlease.keeper import hold
from cloudlease.lease import Lease
from cloudlease.testing import FakeClock
from cloudlease_dynamodb import DynamoDBStore, FencedWriteRefused, condition_check
from tests.dynamodb.conftest import StoreMaker, create_table, new_table_name
from tests.wire.scenarios import fake_clock


@pytest.fixture
def sink(moto_endpoint: str) -> str:
    return create_table(moto_endpoint, new_table_name("sink"))


def item(value: str, token: int) -> dict[str, Any]:
    return {"name": {"S": "report"}, "value": {"S": value}, "token": {"N": str(token)}}


def read(store: DynamoDBStore, table: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = store.client.get_item(
        TableName=table, Key={"name": {"S": "report"}}, ConsistentRead=True
    ).get("Item")
    return found


def held_by_a(make_store: StoreMaker) -> tuple[DynamoDBStore, Lease]:
    """Holder-a's 10 s lease of "job", on a store with no takeover allowance, on a FakeClock."""
    store = make_store(clock=FakeClock(), takeover_allowance=0)
    return store, store.acquire("job", "holder-a", 10)


def take_over(store: DynamoDBStore) -> Lease:
    """Holder-a pauses past its lease; holder-b takes over: holder-b's lease."""
    fake_clock(store).advance(11)
    return store.acquire("job", "holder-b", 10)


def test_a_stale_holders_fenced_put_raises_lease_lost_and_writes_nothing(
    make_http_store: StoreMaker, sink: str
) -> None:
    store, old = held_by_a(make_http_store)
    store.fenced_put(old, table=sink, item=item("from-a", old.token))
    new = take_over(store)
    with pytest.raises(LeaseLost) as caught:
        store.fenced_put(old, table=sink, item=item("late-a", old.token))
    assert "holder-b" in str(caught.value) and str(new.token) in str(caught.value)
    assert read(store, sink) == item("from-a", old.token)
    store.fenced_put(new, table=sink, item=item("from-b", new.token))
    assert read(store, sink) == item("from-b", new.token)


def test_fenced_update_with_its_own_condition(make_http_store: StoreMaker, sink: str) -> None:
    store = make_http_store(clock=FakeClock())
    lease = store.acquire("job", "holder-a", 10)
    bump: dict[str, Any] = {
        "key": {"name": {"S": "report"}},
        "update_expression": "SET #n = if_not_exists(#n, :zero) + :one",
        "ExpressionAttributeNames": {"#n": "count"},
        "ExpressionAttributeValues": {":zero": {"N": "0"}, ":one": {"N": "1"}},
    }
    store.fenced_update(lease, table=sink, **bump)
    store.fenced_update(lease, table=sink, **bump)
    assert read(store, sink) == {"name": {"S": "report"}, "count": {"N": "2"}}
    with pytest.raises(FencedWriteRefused):
        store.fenced_update(
            lease, table=sink, ConditionExpression="attribute_not_exists(#n)", **bump
        )
    store.release(lease)
    with pytest.raises(LeaseLost, match="released"):
        store.fenced_update(lease, table=sink, **bump)
    assert read(store, sink) == {"name": {"S": "report"}, "count": {"N": "2"}}


def test_condition_check_in_the_users_own_transaction(
    make_http_store: StoreMaker, sink: str
) -> None:
    store, old = held_by_a(make_http_store)
    write: Any = {"Put": {"TableName": sink, "Item": item("mine", old.token)}}
    store.client.transact_write_items(TransactItems=[condition_check(store, old), write])
    take_over(store)
    with pytest.raises(store.client.exceptions.TransactionCanceledException) as caught:
        store.client.transact_write_items(TransactItems=[store.condition_check(old), write])
    reasons: Any = caught.value.response["CancellationReasons"]
    assert reasons[0]["Code"] == "ConditionalCheckFailed"
    assert reasons[0]["Item"]["holder"] == {"S": "holder-b"}


def test_the_lease_of_hold_fences_writes(make_http_store: StoreMaker, sink: str) -> None:
    store = make_http_store()
    with hold(store, "job", ttl=30) as held:
        store.fenced_put(held, table=sink, item=item("held", held.token))
    with pytest.raises(LeaseLost):
        store.fenced_put(held, table=sink, item=item("after", held.token))
    assert read(store, sink) == item("held", held.token)
