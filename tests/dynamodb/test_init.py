"""init(): the table, on-demand, TTL in epoch seconds, ACTIVE, idempotent."""

from __future__ import annotations

from typing import Any

import pytest

from cloudlease.errors import StoreMisconfigured
from cloudlease.testing import FakeClock
from cloudlease_dynamodb import DEFAULT_TTL_ATTRIBUTE, AttributeNames, DynamoDBStore
from tests.dynamodb.conftest import REGION, client, new_table_name, session
from tests.dynamodb.wire import Wire, json_response


def store_for(endpoint: str, table: str, **options: Any) -> DynamoDBStore:
    return DynamoDBStore(table, region=REGION, endpoint_url=endpoint, session=session(), **options)


def test_init_creates_an_on_demand_table_with_ttl_and_is_idempotent(moto_endpoint: str) -> None:
    store = store_for(moto_endpoint, new_table_name())
    store.init()
    store.init()
    table = store.client.describe_table(TableName=store.table)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = store.client.describe_time_to_live(TableName=store.table)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", DEFAULT_TTL_ATTRIBUTE)


def test_records_carry_a_ttl_in_epoch_seconds_a_week_past_expiry(moto_endpoint: str) -> None:
    store = store_for(moto_endpoint, new_table_name(), clock=FakeClock())
    store.init()
    lease = store.acquire("job", "holder-a", 10)
    raw = store.client.get_item(TableName=store.table, Key={"name": {"S": "job"}})["Item"]
    assert int(raw["purge_at"]["N"]) == (lease.expires_at + 7 * 86_400_000) // 1000


def test_init_waits_on_the_store_clock_until_the_table_is_active(moto_endpoint: str) -> None:
    clock = FakeClock(autoadvance=True)
    store = store_for(moto_endpoint, new_table_name(), clock=clock)
    wire = Wire(store.client)
    creating = {
        "Table": {
            "TableName": store.table,
            "TableStatus": "CREATING",
            "KeySchema": [{"AttributeName": "name", "KeyType": "HASH"}],
        }
    }
    wire.inject("DescribeTable", lambda request: None)  # the first describe: not found
    wire.inject("DescribeTable", lambda request: json_response(request, creating), times=3)
    store.init()
    assert wire.requests["DescribeTable"] == 5 and wire.requests["CreateTable"] == 1
    assert clock.monotonic() >= 1000 + 3.0


def test_init_refuses_a_table_with_another_key(moto_endpoint: str) -> None:
    table = new_table_name()
    client(moto_endpoint).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with pytest.raises(StoreMisconfigured, match="partition_key"):
        store_for(moto_endpoint, table).init()
    renamed = store_for(moto_endpoint, table, attributes=AttributeNames(key="id"))
    renamed.init()
    assert renamed.acquire("job", "holder-a", 10).record.transitions == 1
