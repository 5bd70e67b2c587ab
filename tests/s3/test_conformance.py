"""The core conformance suite on S3: moto in-process (mock_aws) and moto over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from cloudlease.testing.conformance import ConformanceSuite, StoreFactory
from tests.s3.conftest import StoreMaker, create_bucket, maker


class TestS3InProcess(ConformanceSuite):
    @pytest.fixture
    def make_store(self) -> Iterator[StoreFactory]:
        with mock_aws():
            yield maker(None, create_bucket(None))


class TestS3OverHTTP(ConformanceSuite):
    @pytest.fixture
    def make_store(self, make_http_store: StoreMaker) -> StoreFactory:
        return make_http_store
