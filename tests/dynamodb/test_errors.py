"""Errors name the table, the region and the next step; foreign records are never taken over."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from cloudlease.errors import ConfigError, CorruptRecord, LeaseLost, StoreMisconfigured
from cloudlease.testing import FakeClock
from cloudlease.urls import open_store
from cloudlease_dynamodb import IAM_ACTIONS, DynamoDBStore, from_url
from tests.dynamodb.conftest import REGION, StoreMaker, create_table, session
from tests.dynamodb.wire import Wire


def test_missing_table_points_to_init_and_terraform(moto_endpoint: str) -> None:
    store = DynamoDBStore(
        "no-such-table", region=REGION, endpoint_url=moto_endpoint, session=session()
    )
    with pytest.raises(StoreMisconfigured) as caught:
        store.acquire("job", "holder-a", 10)
    message = str(caught.value)
    for part in (
        "no-such-table",
        REGION,
        "cloudlease init --store dynamodb://no-such-table",
        "terraform/dynamodb",
        "'job'",
    ):
        assert part in message


def test_no_credentials_names_the_chain_that_was_tried(
    moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key)
    store = DynamoDBStore("leases", region=REGION, endpoint_url=moto_endpoint)
    wire = Wire(store.client)
    with pytest.raises(StoreMisconfigured) as caught:
        store.acquire("job", "holder-a", 10)
    message = str(caught.value)
    assert "no usable AWS credentials" in message and "leases" in message and REGION in message
    assert "env" in message and "shared-credentials-file" in message
    assert sum(wire.requests.values()) == 0


def test_expired_credentials_say_where_they_came_from(make_http_store: StoreMaker) -> None:
    store = make_http_store()
    wire = Wire(store.client)
    wire.respond("UpdateItem", "ExpiredTokenException")
    with pytest.raises(StoreMisconfigured) as caught:
        store.acquire("job", "holder-a", 10)
    message = str(caught.value)
    assert "ExpiredTokenException" in message and "'env'" in message and REGION in message
    assert wire.requests == Counter({"UpdateItem": 1})  # not retried


@pytest.fixture
def restricted_client() -> Iterator[tuple[str, Any]]:
    """An IAM user allowed only GetItem, on moto with IAM enforcement."""
    with mock_aws():
        table = create_table(None)
        iam = boto3.client("iam", region_name=REGION)
        iam.create_user(UserName="reader")
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"}],
        }
        iam.put_user_policy(UserName="reader", PolicyName="read", PolicyDocument=json.dumps(policy))
        key = iam.create_access_key(UserName="reader")["AccessKey"]
        client = boto3.client(
            "dynamodb",
            region_name=REGION,
            aws_access_key_id=key["AccessKeyId"],
            aws_secret_access_key=key["SecretAccessKey"],
        )
        with enable_iam_authentication():
            yield table, client


def test_access_denied_lists_the_iam_actions_the_store_needs(
    restricted_client: tuple[str, Any],
) -> None:
    table, client = restricted_client
    store = DynamoDBStore(table, client=client)
    assert store.get("job") is None  # GetItem is allowed
    with pytest.raises(StoreMisconfigured) as caught:
        store.acquire("job", "holder-a", 10)
    message = str(caught.value)
    assert "access denied" in message and table in message and REGION in message
    assert all(action in message for action in IAM_ACTIONS)


# -- records written by something else -------------------------------------------------------

GOOD = {
    "holder": {"S": ""},
    "token": {"N": "5"},
    "expires_at": {"N": "1"},
    "acquired_at": {"N": "1"},
    "renewed_at": {"N": "1"},
    "transitions": {"N": "1"},
    "metadata": {"S": "{}"},
}


@pytest.mark.parametrize(
    "change",
    [
        {"holder": {"N": "3"}},
        {"token": {"S": "five"}},
        {"acquired_at": {"S": "yesterday"}},
        {"expires_at": None},
        {"transitions": None},
        {"metadata": {"S": "not json"}},
        {"metadata": {"S": "[1, 2]"}},
        {"metadata": {"M": {}}},
    ],
    ids=[
        "holder-number",
        "token-string",
        "acquired-at-text",
        "no-expiry",
        "no-transitions",
        "metadata-text",
        "metadata-list",
        "metadata-map",
    ],
)
def test_a_foreign_record_is_reported_never_taken_over(
    make_http_store: StoreMaker, change: dict[str, Any]
) -> None:
    store = make_http_store(clock=FakeClock())
    item = {"name": {"S": "job"}, **GOOD}
    for key, value in change.items():
        if value is None:
            del item[key]
        else:
            item[key] = value
    store.client.put_item(TableName=store.table, Item=item)
    for attempt in (
        lambda: store.get("job"),
        lambda: store.acquire("job", "holder-a", 10),
        lambda: store.force_release("job"),
        store.records,
    ):
        with pytest.raises(CorruptRecord) as caught:
            attempt()
        assert store.table in str(caught.value) and "delete" in str(caught.value).lower()
    assert store.client.get_item(TableName=store.table, Key={"name": {"S": "job"}})["Item"] == item


def test_a_fractional_token_is_reported_loudly(make_http_store: StoreMaker) -> None:
    """A condition cannot tell 5.5 from 5: the takeover applies, its result is refused."""
    store = make_http_store(clock=FakeClock())
    item = {"name": {"S": "job"}, **GOOD, "token": {"N": "5.5"}}
    store.client.put_item(TableName=store.table, Item=item)
    with pytest.raises(CorruptRecord):
        store.get("job")
    with pytest.raises(CorruptRecord):
        store.acquire("job", "holder-a", 10)


def test_renewing_a_lease_whose_item_was_overwritten_raises_lease_lost(
    make_http_store: StoreMaker,
) -> None:
    store = make_http_store(clock=FakeClock())
    lease = store.acquire("job", "holder-a", 10)
    store.client.put_item(TableName=store.table, Item={"name": {"S": "job"}, "x": {"S": "y"}})
    with pytest.raises(LeaseLost, match="overwritten"):
        store.renew(lease)


# -- URLs ---------------------------------------------------------------------------------------


def test_open_store_reads_every_url_option() -> None:
    store = open_store(
        "dynamodb://my-table?region=eu-west-1&endpoint_url=http://127.0.0.1:1&"
        "partition_key=pk&ttl_attribute=expires_s"
    )
    assert isinstance(store, DynamoDBStore)
    assert store.table == "my-table" and store.region == "eu-west-1"
    assert store.attributes.key == "pk" and store.attributes.ttl == "expires_s"
    assert store.client.meta.endpoint_url == "http://127.0.0.1:1"
    assert store.url == (
        "dynamodb://my-table?region=eu-west-1&endpoint_url=http://127.0.0.1:1&"
        "partition_key=pk&ttl_attribute=expires_s"
    )
    assert from_url(store.url).url == store.url


def test_the_region_defaults_to_the_environment() -> None:
    assert from_url("dynamodb://my-table").url == f"dynamodb://my-table?region={REGION}"


@pytest.mark.parametrize(
    "url",
    [
        "dynamodb://",
        "dynamodb://ab",
        "dynamodb://bad table",
        "dynamodb://t-table/extra",
        "dynamodb://t-table?regoin=eu-west-1",
        "dynamodb://t-table?region=",
        "dynamodb://t-table?endpoint_url=localhost:8000",
        "dynamodb://t-table?profile=no-such-profile",
    ],
)
def test_bad_urls_are_refused_before_any_request(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_url(url)
    assert "dynamodb" in str(caught.value)


def test_a_missing_region_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigError, match=r"\?region="):
        from_url("dynamodb://t-table")
