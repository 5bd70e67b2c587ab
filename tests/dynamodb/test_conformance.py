"""The core conformance suite on DynamoDB: moto in-process (mock_aws) and moto over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from cloudlease.store import BaseStore
from cloudlease.testing.conformance import ConformanceSuite, StoreFactory
from cloudlease_dynamodb import DynamoDBStore
from tests.dynamodb.conftest import REGION, StoreMaker, create_table, session


class TestDynamoDBInProcess(ConformanceSuite):
    @pytest.fixture
    def make_store(self) -> Iterator[StoreFactory]:
        with mock_aws():
            table = create_table(None)

            def make(**options: Any) -> BaseStore:
                return DynamoDBStore(table, region=REGION, session=session(), **options)

            yield make


class TestDynamoDBOverHTTP(ConformanceSuite):
    @pytest.fixture
    def make_store(self, make_http_store: StoreMaker) -> StoreFactory:
        return make_http_store
