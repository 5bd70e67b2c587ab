"""Fixtures: moto servers on loopback (the DynamoDB tests' own), test credentials, fresh buckets."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.dynamodb.conftest import (  # noqa: F401
    REGION,
    aws_test_env,
    locked_endpoint,
    moto_endpoint,
    session,
)
from tests.wire.object_stores import ObjectStoreWire

if TYPE_CHECKING:  # the provider loads when a fixture needs it, not at collection
    from cloudlease_s3 import S3Store

_buckets = itertools.count()
StoreMaker = Callable[..., "S3Store"]


def new_bucket_name(prefix: str = "leases") -> str:
    return f"{prefix}-{os.getpid()}-{next(_buckets)}"


def client(endpoint: str | None) -> Any:
    """A plain boto3 S3 client (botocore's own retries off, as the store's)."""
    from botocore.config import Config

    return session().client(
        "s3",
        region_name=REGION,
        endpoint_url=endpoint,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def create_bucket(endpoint: str | None, name: str | None = None) -> str:
    """A fresh bucket, created through the store's own init."""
    from cloudlease_s3 import S3Store

    bucket = name or new_bucket_name()
    store = S3Store(bucket, region=REGION, endpoint_url=endpoint, session=session())
    store.init(create_bucket=True)
    store.close()
    return bucket


def maker(endpoint: str | None, bucket: str, prefix: str = "leases/") -> StoreMaker:
    def make(**options: Any) -> S3Store:
        from cloudlease_s3 import S3Store

        options.setdefault("region", REGION)
        options.setdefault("endpoint_url", endpoint)
        options.setdefault("session", session())
        return S3Store(bucket, prefix, **options)

    return make


@pytest.fixture
def endpoint(request: pytest.FixtureRequest) -> str:
    """The threaded moto server of the DynamoDB tests (moto serves S3 too)."""
    url: str = request.getfixturevalue("moto_endpoint")
    return url


@pytest.fixture
def bucket(endpoint: str) -> str:
    return create_bucket(endpoint)


@pytest.fixture
def make_http_store(endpoint: str, bucket: str) -> StoreMaker:
    """``make(**options)`` -> a store on a bucket of its own on the threaded moto server."""
    return maker(endpoint, bucket)


@pytest.fixture
def make_locked_store(request: pytest.FixtureRequest) -> StoreMaker:
    """The same on moto behind one lock: for tests where requests race."""
    locked: str = request.getfixturevalue("locked_endpoint")
    return maker(locked, create_bucket(locked))


@pytest.fixture
def objects(make_http_store: StoreMaker, endpoint: str, bucket: str) -> ObjectStoreWire:
    """The S3 store on the threaded moto server, its requests counted by name: for the checks
    every object store passes (``tests/wire/object_stores.py``)."""
    from tests.s3.wire import Wire

    def read_object(key: str) -> tuple[str, bytes]:
        found = client(endpoint).get_object(Bucket=bucket, Key=key)
        return found["ContentType"], found["Body"].read()

    return ObjectStoreWire(make_http_store, Wire, "GetObject", "PutObject", read_object)
