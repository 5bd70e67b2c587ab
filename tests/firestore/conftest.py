"""Google's Firestore emulator, started once per test session on a free loopback port."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.emulators import ManagedProcess, free_port, port_open, unavailable

if TYPE_CHECKING:  # the SDK and the provider load when a fixture needs them, not at collection
    from cloudlease.testing.blocking import Sides
    from cloudlease_firestore import FirestoreStore
    from tests.firestore.interceptors import Interceptor

EMULATOR_SCRIPT = Path(
    "/usr/lib/google-cloud-sdk/platform/cloud-firestore-emulator/cloud_firestore_emulator"
)
PROJECT = "demo-cloudlease"
_collections = itertools.count()


@dataclass(frozen=True)
class Emulator:
    host: str  # 127.0.0.1:PORT
    project: str

    def reset(self) -> None:
        """Delete every document of the project's default database."""
        import requests

        requests.delete(
            f"http://{self.host}/emulator/v1/projects/{self.project}/databases/(default)/documents",
            timeout=10,
        ).raise_for_status()


def emulator_command(mode: str | None, port: int) -> list[str]:
    """How to start the emulator here, or fail/skip when there is none."""
    extra = [f"--database-mode={mode}"] if mode else []
    script = (
        EMULATOR_SCRIPT if EMULATOR_SCRIPT.exists() else shutil.which("cloud_firestore_emulator")
    )
    if script is not None and shutil.which("java"):
        return [str(script), "start", "--host=127.0.0.1", f"--port={port}", *extra]
    gcloud = shutil.which("gcloud")
    if gcloud is not None and shutil.which("java"):
        return [gcloud, "emulators", "firestore", "start", f"--host-port=127.0.0.1:{port}", *extra]
    unavailable(
        "the Firestore emulator",
        "neither cloud_firestore_emulator nor gcloud (with java) is installed; install "
        "google-cloud-cli-firestore-emulator",
    )


def start_emulator(tmp: Path, mode: str | None = None) -> tuple[ManagedProcess, str]:
    port = free_port()
    name = f"firestore-emulator-{mode or 'native'}"
    process = ManagedProcess(name, emulator_command(mode, port), log_dir=tmp)
    try:
        process.wait_until(lambda: port_open(port), timeout=60)
    except RuntimeError as exc:
        unavailable("the Firestore emulator", str(exc))
    return process, f"127.0.0.1:{port}"


@pytest.fixture(scope="session")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Emulator]:
    process, host = start_emulator(tmp_path_factory.mktemp("firestore"))
    previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
    os.environ["FIRESTORE_EMULATOR_HOST"] = host
    try:
        yield Emulator(host, PROJECT)
    finally:
        process.stop()
        if previous is None:
            os.environ.pop("FIRESTORE_EMULATOR_HOST", None)
        else:
            os.environ["FIRESTORE_EMULATOR_HOST"] = previous


@pytest.fixture
def collection() -> str:
    """A collection used by this test only (no reset needed between tests)."""
    return f"leases_{os.getpid()}_{next(_collections)}"


@pytest.fixture
def interceptor() -> Interceptor:
    from tests.firestore.interceptors import Interceptor

    return Interceptor()


@pytest.fixture
def make_store(emulator: Emulator, collection: str, interceptor: Interceptor) -> Iterator[Any]:
    """``make(**options)``: a FirestoreStore on this test's collection, through ``interceptor``."""
    from cloudlease_firestore import FirestoreStore
    from tests.firestore.interceptors import intercepted_client

    stores: list[FirestoreStore] = []

    def make(**options: Any) -> FirestoreStore:
        client = intercepted_client(emulator.host, emulator.project, interceptor)
        store = FirestoreStore(emulator.project, collection, client=client, **options)
        stores.append(store)
        return store

    yield make
    for store in stores:
        store.close()
        store.client._firestore_api.transport.close()


@pytest.fixture
def make_either(
    make_store: Any, emulator: Emulator, collection: str, interceptor: Interceptor, side: Sides
) -> Iterator[Any]:
    """``make_store`` on the sync side, or an ``AsyncFirestoreStore`` on the same collection
    (its requests counted by ``interceptor`` too) seen through a ``BlockingStore``."""
    from tests.firestore.interceptors import intercepted_async_client

    clients: list[Any] = []

    def asynchronous(**options: Any) -> Any:
        from cloudlease_firestore.aio import AsyncFirestoreStore

        clients.append(intercepted_async_client(emulator.project, interceptor))
        return AsyncFirestoreStore(emulator.project, collection, client=clients[-1], **options)

    yield side.factory(make_store, asynchronous)
    for client in clients:  # a client passed in is ours to close, on the loop it ran on
        if client._firestore_api_internal is not None and side.loop is not None:
            side.loop.run_until_complete(client._firestore_api.transport.close())
