"""Fixtures: the provider test fixtures (emulators on loopback), reused, and one backend each.

The emulators are the providers' own session fixtures, imported here so that this directory
runs on its own; each is started only if a test here asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from tests.azure_blob.conftest import azurite  # noqa: F401
from tests.dynamodb.conftest import aws_test_env, locked_endpoint, moto_endpoint  # noqa: F401
from tests.firestore.conftest import PROJECT, emulator  # noqa: F401
from tests.gcs.conftest import fake_gcs  # noqa: F401
from tests.reliability.backends import (
    AsyncBackend,
    AsyncDynamoDBBackend,
    AzureBlobBackend,
    DynamoDBBackend,
    FirestoreBackend,
    GCSBackend,
    InProcessDynamoDBBackend,
    MemoryBackend,
    S3Backend,
    SQLiteBackend,
)
from tests.reliability.wired import HTTP1, HTTP2, Mixed, WireFaults
from tests.wire.fixtures import upstream_port
from tests.wire.proxy import FaultProxy

#: Every n-th seed of these stores runs its contenders' requests through the fault proxy.
WIRE_EVERY = {"dynamodb": 4, "firestore": 2, "azure_blob": 2}

BACKENDS = ["memory", "sqlite", "dynamodb", "firestore", "azure_blob", "s3", "gcs"]


def histories(default: int) -> int:
    """How many histories to run: ``CLOUDLEASE_HISTORIES`` scales every store's default
    (memory and SQLite get the number itself; the emulator stores a fraction of it)."""
    return int(os.environ.get("CLOUDLEASE_HISTORIES", default))


def mixed(name: str, backend: Callable[[WireFaults | None], Any], wire: WireFaults) -> Mixed:
    """``backend(None)`` (straight to the emulator), and ``backend(wire)`` for every
    ``WIRE_EVERY[name]``-th history."""
    return Mixed(backend(None), backend(wire), WIRE_EVERY[name])


@pytest.fixture(scope="session")
def backend_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """``make(name)`` -> a Backend; emulators start on first use."""
    made: dict[str, Any] = {}

    def proxy(port: int, http2: bool = False) -> FaultProxy:
        started = FaultProxy(port, http2=http2).start()
        request.addfinalizer(started.stop)
        return started

    def make(name: str) -> Any:
        if name in made:
            return made[name]
        if name == "memory":
            backend: Any = MemoryBackend()
        elif name == "sqlite":
            backend = SQLiteBackend(tmp_path_factory.mktemp("sqlite") / "leases.db")
        elif name == "dynamodb":  # in process; a share over HTTP through the fault proxy
            from tests.dynamodb.conftest import create_table

            endpoint = request.getfixturevalue("locked_endpoint")
            wire = WireFaults(proxy(upstream_port(endpoint)), HTTP1)
            wired = DynamoDBBackend(endpoint, create_table(endpoint), wire)
            backend = Mixed(InProcessDynamoDBBackend(), wired, WIRE_EVERY[name])
        elif name == "firestore":
            emulator_ = request.getfixturevalue("emulator")
            collection = f"reliability_{os.getpid()}"
            wire = WireFaults(proxy(upstream_port(emulator_.host), http2=True), HTTP2)
            backend = mixed(name, lambda via: FirestoreBackend(PROJECT, collection, via), wire)
        elif name == "azure_blob":
            azurite_ = request.getfixturevalue("azurite")
            container = azurite_.new_container()
            wire = WireFaults(proxy(azurite_.port), HTTP1)
            backend = mixed(name, lambda via: AzureBlobBackend(azurite_, container, via), wire)
        elif name == "s3":
            from tests.s3.conftest import create_bucket as create_s3_bucket

            endpoint = request.getfixturevalue("locked_endpoint")
            backend = S3Backend(endpoint, create_s3_bucket(endpoint))
        elif name == "memory-async":
            backend = AsyncBackend(name, "memory://reliability-async")
        elif name == "sqlite-async":
            path = tmp_path_factory.mktemp("sqlite-async") / "leases.db"
            backend = AsyncBackend(name, f"sqlite:///{path}")
        elif name == "dynamodb-async":  # aiobotocore over HTTP: moto's mock is botocore's only
            from tests.dynamodb.conftest import create_table

            endpoint = request.getfixturevalue("locked_endpoint")
            backend = AsyncDynamoDBBackend(endpoint, create_table(endpoint))
        elif name == "gcs":
            from tests.gcs.conftest import create_bucket as create_gcs_bucket

            request.getfixturevalue("fake_gcs")
            backend = GCSBackend(create_gcs_bucket())
        else:
            raise ValueError(name)
        if isinstance(backend, AsyncBackend):
            request.addfinalizer(backend.close)
        made[name] = backend
        return backend

    return make
