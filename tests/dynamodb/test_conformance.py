"""The core conformance suite on DynamoDB: moto in-process (mock_aws) and moto over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any
from unittest import mock

import pytest
from moto import mock_aws

from cloudlease.lease import Lease
from cloudlease.store import BaseStore
from cloudlease.testing.blocking import Sides
from cloudlease.testing.conformance import (
    ConformanceSuite,
    FencedWrites,
    StoreFactory,
    SyncFencedWrites,
)
from cloudlease_dynamodb import DynamoDBStore, expressions
from cloudlease_dynamodb.store import DynamoDBCore
from tests.dynamodb.conftest import REGION, StoreMaker, create_table, session

# The acquire expressions of cloudlease-dynamodb before schema 2, verbatim: ms tokens, and
# no #schema (an UpdateItem leaves the attribute as it was; a created item has none).
_BEFORE_SCHEMA_2 = {
    "TAKEOVER_CONDITION": (
        f"attribute_not_exists(#key) OR ({expressions._WELL_FORMED} AND #holder <> :holder "
        "AND (#holder = :free OR #expires_at < :stale_before))"
    ),
    "TAKEOVER_UPDATE": (
        "SET #holder = :holder, #token = if_not_exists(#token, :now_ms) + :one, "
        "#expires_at = :expires_at, #acquired_at = :now_ms, #renewed_at = :now_ms, "
        "#transitions = if_not_exists(#transitions, :zero) + :one, #metadata = :metadata, "
        "#ttl = :purge_at"
    ),
    "REENTRY_CONDITION": "#holder = :holder AND attribute_type(#token, :N)",
}


def no_replace(*_: Any) -> Iterator[Any]:
    """``DynamoDBCore._replace`` of a client from before it: a flow that decides nothing."""
    return None
    yield


class OlderDynamoDBClient:
    """DynamoDB states its rules as expressions: an older client is its older expressions."""

    @contextmanager
    def older_client(self, store: BaseStore) -> Iterator[None]:
        with ExitStack() as patches:
            for attribute, text in _BEFORE_SCHEMA_2.items():
                patches.enter_context(mock.patch.object(expressions, attribute, text))
            never = mock.patch.object(DynamoDBCore, "_lifts", lambda self, current: False)
            patches.enter_context(never)
            # nor did it acquire with PutItem
            patches.enter_context(mock.patch.object(DynamoDBCore, "_replace", no_replace))
            yield

    def fenced_write(self, store: BaseStore, lease: Lease) -> None:
        """A put into a table of its own, in one transaction with a check of the lease item."""
        assert isinstance(store, DynamoDBStore)  # the fencing helpers are the sync store's
        sink = create_table(store.client.meta.endpoint_url, f"{store.table}-sink")
        item = {"name": {"S": "report"}, "token": {"N": str(lease.token)}}
        store.fenced_put(lease, table=sink, item=item)


class TestDynamoDBInProcess(OlderDynamoDBClient, FencedWrites, ConformanceSuite):
    @pytest.fixture
    def make_store(self) -> Iterator[StoreFactory]:
        with mock_aws():
            table = create_table(None)

            def make(**options: Any) -> BaseStore:
                return DynamoDBStore(table, region=REGION, session=session(), **options)

            yield make


class TestDynamoDBOverHTTP(OlderDynamoDBClient, SyncFencedWrites, ConformanceSuite):
    """Both sides: boto3, and aiobotocore (``AsyncDynamoDBStore``) on the same table."""

    @pytest.fixture
    def make_store(
        self, make_http_store: StoreMaker, moto_endpoint: str, http_table: str, side: Sides
    ) -> StoreFactory:
        def asynchronous(**options: Any) -> Any:
            from cloudlease_dynamodb.aio import AsyncDynamoDBStore

            return AsyncDynamoDBStore(
                http_table, region=REGION, endpoint_url=moto_endpoint, **options
            )

        return side.factory(make_http_store, asynchronous)
