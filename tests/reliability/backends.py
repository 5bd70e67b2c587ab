"""The stores the histories run on: memory, SQLite, and the emulator-backed cloud stores.

Contenders of one history share a backend (a memory shelf, a SQLite file, a table, a
collection, a container) and each gets its own store object with its own clock; cloud stores
share one SDK client per backend, since building a client per contender costs more than a
history. Each history uses a lease name of its own, so histories never see each other.
DynamoDB runs moto in process; a cloud backend given ``WireFaults`` opens its contenders' stores
on a second client that goes through the fault proxy, and the harness's own (``open_admin``) on
the direct one (``wired.Mixed`` picks the way in per history).
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cloudlease.store import BaseStore
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing.history import History
from tests.reliability.sim import Sim, SimClock
from tests.reliability.wired import WireFaults

#: Seconds: a Firestore call's deadline through the fault proxy.
WIRE_DEADLINE = 1.0
_FIRESTORE_ENV = threading.Lock()


class _Base:
    """What every backend shares: throttles drawn per history, and the wire faults' history.

    A backend whose ``throttled`` names operations answers them with a throttle at the rate
    ``begin`` is given (``_throttle`` draws and records it); one given ``WireFaults`` starts and
    ends them with each history. A backend that throttles nothing draws nothing from ``rng``.
    """

    name = "?"
    ttl = 2.0
    server_expiry = False
    #: The operations a throttle may answer (botocore's names, or the GCS wire's).
    throttled: tuple[str, ...] = ()
    wire: WireFaults | None = None
    _sim: Sim | None = None
    _history: History | None = None
    _rng: random.Random
    _rate = 0.0

    def begin(self, sim: Sim, history: History, rng: random.Random, throttle_rate: float) -> None:
        if self.throttled:
            self._sim, self._history = sim, history
            self._rng = random.Random(rng.getrandbits(64))
            self._rate = throttle_rate
        if self.wire is not None:
            self.wire.begin(history, rng)

    def expire(self, store: BaseStore, name: str) -> None:
        raise NotImplementedError(f"{self.name} has no server-side expiry")

    def end(self) -> None:
        self._sim = self._history = None
        self._rate = 0.0
        if self.wire is not None:
            self.wire.end()

    def _throttle(self, operation: str) -> bool:
        """Whether ``operation``, sent now by a task, is answered with a throttle (recorded)."""
        if operation not in self.throttled or self._sim is None:
            return False
        task = self._sim.current()
        if task is None or self._history is None or self._rng.random() >= self._rate:
            return False
        self._history.record(task.group, "fault", detail="throttle")
        return True


class _TwoClients(_Base):
    """Contenders' stores on ``wired`` (through the fault proxy, when there are wire faults),
    the harness's own (``open_admin``) on ``client``, straight to the emulator."""

    client: Any
    wired: Any

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        return self._open(self.wired, clock, skew_allowance)

    def open_admin(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        return self._open(self.client, clock, skew_allowance)

    def _open(self, client: Any, clock: SimClock, skew_allowance: float) -> BaseStore:
        raise NotImplementedError


def _moto_client(
    make_client: Callable[..., Any], endpoint: str | None, config: Any, store: str
) -> Any:
    """A botocore client as the store builds it (``make_client``), with the tests' session."""
    from tests.dynamodb.conftest import REGION, session

    return make_client(
        region=REGION,
        endpoint_url=endpoint,
        profile=None,
        session=session(),
        config=config,
        store=store,
    )


def _bucket_store(
    store_class: Callable[..., BaseStore], bucket: str, client: Any, clock: SimClock, skew: float
) -> BaseStore:
    """An S3 or GCS store of ``bucket`` under "reliability/", on the backend's shared client."""
    return store_class(
        bucket,
        "reliability/",
        client=client,
        clock=clock,
        takeover_allowance=skew,
        clock_skew_bound=skew,
        rng=random.Random(clock.skew_ms),
    )


class MemoryBackend(_Base):
    name = "memory"

    def __init__(self, shelf: str = "reliability") -> None:
        self.shelf = shelf

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        return MemoryStore(
            self.shelf,
            clock=clock,
            takeover_allowance=skew_allowance,
            clock_skew_bound=skew_allowance,
        )


class SQLiteBackend(_Base):
    name = "sqlite"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.opened: list[BaseStore] = []

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        store = SQLiteStore(
            self.path,
            clock=clock,
            takeover_allowance=skew_allowance,
            clock_skew_bound=skew_allowance,
        )
        self.opened.append(store)
        return store

    def end(self) -> None:
        for store in self.opened:
            store.close()
        self.opened.clear()
        super().end()


class DynamoDBBackend(_TwoClients):
    """A table on the locked moto server; throttling injected on the wire (botocore hook)."""

    name = "dynamodb"
    throttled = ("UpdateItem", "PutItem", "GetItem")

    def __init__(self, endpoint: str | None, table: str, wire: WireFaults | None = None) -> None:
        from botocore.config import Config

        from cloudlease_dynamodb.client import make_client

        self.table = table
        self.wire = wire

        def client(via: str | None, config: Config | None) -> Any:
            made = _moto_client(make_client, via, config, f"dynamodb://{table}")
            # First: the throttle answers before anything else would send (or moto's stubber
            # would answer in process, see InProcessDynamoDBBackend).
            made.meta.events.register_first("before-send.dynamodb", self._before_send)
            return made

        self.client: Any = client(endpoint, None)
        # Through the proxy, a held reply costs the read timeout in real seconds: keep it short.
        self.wired: Any = (
            self.client
            if wire is None
            else client(wire.proxy.url, Config(connect_timeout=1, read_timeout=0.5))
        )

    def _open(self, client: Any, clock: SimClock, skew_allowance: float) -> BaseStore:
        from cloudlease_dynamodb import DynamoDBStore

        return DynamoDBStore(
            self.table,
            client=client,
            clock=clock,
            takeover_allowance=skew_allowance,
            clock_skew_bound=skew_allowance,
            rng=random.Random(clock.skew_ms),
        )

    def _before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        """Answer ThrottlingException without sending (nothing applied), at the drawn rate."""
        from tests.dynamodb.wire import error_response

        if not self._throttle(event_name.rsplit(".", 1)[-1]):
            return None
        return error_response(request, 400, "ThrottlingException")


class InProcessDynamoDBBackend(DynamoDBBackend):
    """A table in moto's in-process backend (``mock_aws``): botocore builds, signs and parses
    every request as over HTTP, and moto's stubber answers it in the calling thread, no socket.

    moto is not atomic under concurrent requests (why every racing test uses the locked server),
    but no two requests race here: the simulation runs one task at a time (``Sim.step`` hands
    the baton to one task and waits until it yields), and a request runs inside that task's
    turn (``SimStore._send`` calls the store between two yields), in that task's thread. The
    only code outside the tasks (``on_tick`` hooks, the harness between steps) runs while every
    task waits, and sends no DynamoDB request. The mock is active only during a history
    (``begin`` .. ``end``); the table and its items stay in moto between histories.
    """

    name = "dynamodb"

    def __init__(self) -> None:
        from moto import mock_aws

        from tests.dynamodb.conftest import create_table

        self._mock = mock_aws()
        self._mock.start()
        try:
            table = create_table(None)
            super().__init__(None, table)
        finally:
            self._mock.stop(remove_data=False)

    def begin(self, sim: Sim, history: History, rng: random.Random, throttle_rate: float) -> None:
        self._mock.start(reset=False)
        super().begin(sim, history, rng, throttle_rate)

    def end(self) -> None:
        super().end()
        self._mock.stop(remove_data=False)


class FirestoreBackend(_TwoClients):
    """A collection on Google's Firestore emulator."""

    name = "firestore"

    def __init__(self, project: str, collection: str, wire: WireFaults | None = None) -> None:
        from google.cloud import firestore

        self.project = project
        self.collection = collection
        self.client = firestore.Client(project=project)
        self.wire = wire
        self.wired = self.client
        if wire is not None:  # the client reads the emulator's address when it is built
            with _FIRESTORE_ENV:
                previous = os.environ.get("FIRESTORE_EMULATOR_HOST")
                os.environ["FIRESTORE_EMULATOR_HOST"] = wire.proxy.address
                try:
                    self.wired = firestore.Client(project=project)
                finally:
                    if previous is None:
                        del os.environ["FIRESTORE_EMULATOR_HOST"]
                    else:
                        os.environ["FIRESTORE_EMULATOR_HOST"] = previous

    def _open(self, client: Any, clock: SimClock, skew_allowance: float) -> BaseStore:
        from cloudlease_firestore import FirestoreStore

        return FirestoreStore(
            self.project,
            self.collection,
            client=client,
            clock=clock,
            takeover_allowance=skew_allowance,
            clock_skew_bound=skew_allowance,
            # A reply held at the wire costs the call's deadline in real seconds; the emulator
            # enforces it too (a commit it gave up on did not apply), so not too short either.
            timeout=WIRE_DEADLINE if client is not self.client else 10.0,
        )


class AzureBlobBackend(_TwoClients):
    """A container on Azurite; blob leases are 15 s and freed by the server (the harness
    breaks them at apply + ttl on the simulation's clock, as the server would)."""

    name = "azure_blob"
    ttl = 15.0
    server_expiry = True

    def __init__(self, azurite: Any, container: str, wire: WireFaults | None = None) -> None:
        self.azurite = azurite
        self.container = container
        self.client = azurite.container_client(container)
        self.wire = wire
        self.wired = self.client
        if wire is not None:
            from cloudlease_azure_blob._client import client_options
            from tests.azure_blob.azurite import Azurite, quick_retries

            # The options the store ships (short timeouts, linear retries), with the retries'
            # real waits shortened: the simulation's time does not pass during a request anyway.
            options = dict(client_options(), retry_policy=quick_retries())
            options.update(read_timeout=1, connection_timeout=1)
            self.wired = Azurite(wire.proxy.port).container_client(container, **options)

    def _open(self, client: Any, clock: SimClock, skew_allowance: float) -> BaseStore:
        from cloudlease_azure_blob import AzureBlobStore

        return AzureBlobStore(
            self.azurite.url(self.container),
            container_client=client,
            clock=clock,
            takeover_allowance=skew_allowance,
            clock_skew_bound=skew_allowance,
        )

    def expire(self, store: BaseStore, name: str) -> None:
        from cloudlease_azure_blob import AzureBlobStore

        assert isinstance(store, AzureBlobStore)
        store.run(store.blobs.break_lease(name))


class S3Backend(_Base):
    """A bucket on the locked moto server; S3's 409 ConditionalRequestConflict (on PUT) and 503
    SlowDown (on GET) injected on the wire (botocore hook): real S3 answers them, moto never."""

    name = "s3"
    throttled = ("PutObject", "GetObject")

    def __init__(self, endpoint: str, bucket: str) -> None:
        from cloudlease_s3.store import make_client

        self.bucket = bucket
        self.client: Any = _moto_client(make_client, endpoint, None, f"s3://{bucket}")
        self.client.meta.events.register("before-send.s3", self._before_send)

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        from cloudlease_s3 import S3Store

        return _bucket_store(S3Store, self.bucket, self.client, clock, skew_allowance)

    def _before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        from tests.s3.wire import s3_error

        operation = event_name.rsplit(".", 1)[-1]
        if not self._throttle(operation):
            return None
        if operation == "PutObject":
            return s3_error(request, 409, "ConditionalRequestConflict")
        return s3_error(request, 503, "SlowDown")


class GCSBackend(_Base):
    """A bucket on fake-gcs-server; Cloud Storage's 429 (about one write per second per object)
    injected on the wire (a requests adapter): the emulator has no such limit. ttl 6 s, the
    store's minimum."""

    name = "gcs"
    ttl = 6.0
    throttled = ("upload", "download")

    def __init__(self, bucket: str) -> None:
        from tests.gcs.conftest import client
        from tests.gcs.wire import Wire

        self.bucket = bucket
        self.client = client()
        self.requests = Wire(self.client, hook=self._fault)

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        from cloudlease_gcs import GCSStore

        return _bucket_store(GCSStore, self.bucket, self.client, clock, skew_allowance)

    def _fault(self, operation: str) -> Any:
        from tests.gcs.wire import error_response

        if not self._throttle(operation):
            return None
        return lambda request, _: error_response(request, 429, "rateLimitExceeded")


class AsyncBackend(_Base):
    """The async side of a store (``open_async_store(url)``), driven from the simulation's
    tasks through ``BlockingStore`` on one event loop.

    The harness is unchanged: ``SimStore`` (a ``FaultyStore``) wraps each contender's
    ``BlockingStore`` and injects lost responses, transient errors and latency around its
    primitives, which are the async store's own coroutines (``_acquire``, ``_renew``...) run to
    their end on ``loop``; freezes, crashes and skewed clocks are the simulation's, as on the
    sync side. One loop serves every contender: only the task holding the simulation's baton
    runs, and it never yields the baton inside a coroutine, so the loop runs one request at a
    time, from whichever task's thread sends it.
    """

    def __init__(self, name: str, url: str) -> None:
        import asyncio

        self.name = name
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.opened: list[BaseStore] = []

    def options(self, clock: SimClock) -> dict[str, Any]:
        """Options of ``open_async_store`` beyond the clock and the allowances."""
        return {}

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        from cloudlease import open_async_store
        from cloudlease.async_store import AsyncBaseStore
        from cloudlease.testing.blocking import BlockingStore

        timing = {"takeover_allowance": skew_allowance, "clock_skew_bound": skew_allowance}
        opened = open_async_store(self.url, clock=clock, **timing, **self.options(clock))
        assert isinstance(opened, AsyncBaseStore)
        store = BlockingStore(opened, self.loop)
        self.opened.append(store)
        return store

    def end(self) -> None:
        for store in self.opened:  # a SQLite file's connection; a client passed in stays open
            store.close()
        self.opened.clear()
        super().end()

    def close(self) -> None:
        """At the end of the session: the loop (and what a subclass opened on it)."""
        self.loop.close()


class _Body:
    """An injected reply's body, read as aiobotocore reads a response (awaited)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def read(self) -> bytes:
        return self.data


class AsyncDynamoDBBackend(AsyncBackend):
    """``dynamodb://TABLE`` through aiobotocore (``AsyncDynamoDBStore``) on the locked moto
    server (moto's in-process mock does not answer aiobotocore), one client for every
    contender; throttling injected on the wire by the same kind of hook as the sync side's
    (aiobotocore emits botocore's ``before-send``), answered before anything is sent."""

    throttled = DynamoDBBackend.throttled

    def __init__(self, endpoint: str, table: str) -> None:
        from contextlib import AsyncExitStack

        from aiobotocore.session import AioSession

        from tests.dynamodb.conftest import REGION

        super().__init__("dynamodb-async", f"dynamodb://{table}?region={REGION}")
        self._clients = AsyncExitStack()
        made = AioSession().create_client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        self.client: Any = self.loop.run_until_complete(self._clients.enter_async_context(made))
        self.client.meta.events.register_first("before-send.dynamodb", self._before_send)

    def options(self, clock: SimClock) -> dict[str, Any]:
        return {"client": self.client, "rng": random.Random(clock.skew_ms)}

    def _before_send(self, request: Any, event_name: str, **_: Any) -> Any:
        """``DynamoDBBackend``'s throttle, as the awaitable reply aiobotocore reads."""
        from aiobotocore.awsrequest import AioAWSResponse

        from tests.dynamodb.wire import error_response

        if not self._throttle(event_name.rsplit(".", 1)[-1]):
            return None
        sync: Any = error_response(request, 400, "ThrottlingException")
        return AioAWSResponse(sync.url, sync.status_code, sync.headers, _Body(sync.content))

    def close(self) -> None:
        self.loop.run_until_complete(self._clients.aclose())
        super().close()
