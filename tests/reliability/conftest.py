"""Fixtures: the provider test fixtures (emulators on loopback), reused, and one backend each.

The emulators are the providers' own session fixtures, imported here so that this directory
runs on its own; each is started only if a test here asks for it.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from tests.azure_blob.conftest import azurite  # noqa: F401
from tests.dynamodb.conftest import aws_test_env, locked_endpoint, moto_endpoint  # noqa: F401
from tests.firestore.conftest import PROJECT, emulator  # noqa: F401
from tests.gcs.conftest import fake_gcs  # noqa: F401
from tests.reliability.backends import (
    AzureBlobBackend,
    DynamoDBBackend,
    FirestoreBackend,
    GCSBackend,
    MemoryBackend,
    S3Backend,
    SQLiteBackend,
)

BACKENDS = ["memory", "sqlite", "dynamodb", "firestore", "azure_blob", "s3", "gcs"]


def histories(default: int) -> int:
    """How many histories to run: ``CLOUDLEASE_HISTORIES`` scales every store's default
    (memory and SQLite get the number itself; the emulator stores a fraction of it)."""
    return int(os.environ.get("CLOUDLEASE_HISTORIES", default))


@pytest.fixture(scope="session")
def backend_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Any:
    """``make(name)`` -> a Backend; emulators start on first use."""
    made: dict[str, Any] = {}

    def make(name: str) -> Any:
        if name in made:
            return made[name]
        if name == "memory":
            backend: Any = MemoryBackend()
        elif name == "sqlite":
            backend = SQLiteBackend(tmp_path_factory.mktemp("sqlite") / "leases.db")
        elif name == "dynamodb":
            from tests.dynamodb.conftest import create_table

            endpoint = request.getfixturevalue("locked_endpoint")
            backend = DynamoDBBackend(endpoint, create_table(endpoint))
        elif name == "firestore":
            request.getfixturevalue("emulator")
            backend = FirestoreBackend(PROJECT, f"reliability_{os.getpid()}")
        elif name == "azure_blob":
            azurite_ = request.getfixturevalue("azurite")
            backend = AzureBlobBackend(azurite_, azurite_.new_container())
        elif name == "s3":
            from tests.s3.conftest import create_bucket as create_s3_bucket

            endpoint = request.getfixturevalue("locked_endpoint")
            backend = S3Backend(endpoint, create_s3_bucket(endpoint))
        elif name == "gcs":
            from tests.gcs.conftest import create_bucket as create_gcs_bucket

            request.getfixturevalue("fake_gcs")
            backend = GCSBackend(create_gcs_bucket())
        else:
            raise ValueError(name)
        made[name] = backend
        return backend

    return make
