"""Open each store on its emulator with its requests counted at the transport.

A ``Spec`` is a small JSON-able dict naming one store (kind plus where it lives), so a worker
process can open the same store as its parent. ``Counts`` tallies requests by thread and
operation: a botocore ``before-send`` hook (DynamoDB, S3), a gRPC client interceptor
(Firestore), an Azure pipeline transport (Azure Blob), a requests transport adapter (Cloud
Storage). Memory and SQLite have no transport: there a
request is one call of the store's primitives (one lock section, one SQLite transaction),
counted by ``FaultyStore``'s wrapper.
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from cloudlease.store import BaseStore
from cloudlease.testing import FaultyStore

Spec = dict[str, Any]
KINDS = ("memory", "sqlite", "dynamodb", "firestore", "azure")
#: Object stores: measured by the operations section only (requests and overhead).
OBJECT_KINDS = ("s3", "gcs")
ALL_KINDS = KINDS + OBJECT_KINDS
AZURITE_ACCOUNT = "devstoreaccount1"
#: Azurite's well-known development key (public, documented by Microsoft).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class Counts:
    """Requests by (thread name, operation); thread-safe."""

    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def add(self, op: str) -> None:
        key = (threading.current_thread().name, op)
        with self._lock:
            self._counts[key] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def total(self) -> int:
        with self._lock:
            return sum(self._counts.values())

    def by_op(self) -> dict[str, int]:
        found: Counter[str] = Counter()
        with self._lock:
            for (_, op), n in self._counts.items():
                found[op] += n
        return dict(sorted(found.items()))

    def of_thread(self, name: str) -> int:
        with self._lock:
            return sum(n for (thread, _), n in self._counts.items() if thread == name)


class _CountedPrimitives(FaultyStore):
    """A FaultyStore that injects nothing and counts each primitive call by thread."""

    def __init__(self, inner: BaseStore, counts: Counts) -> None:
        super().__init__(inner)
        self.counts = counts

    def _fault_for(self, op: str) -> None:
        self.counts.add(op)


def dynamodb_session() -> Any:
    """One boto3 session per process (a session loads the service models once)."""
    global _SESSION
    if _SESSION is None:
        import boto3

        _SESSION = boto3.Session()
    return _SESSION


_SESSION: Any = None


def dynamodb_client(endpoint: str, counts: Counts | None) -> Any:
    """A boto3 DynamoDB client configured as the store's own (no retries), hooks counting."""
    from cloudlease_dynamodb.client import DEFAULT_CONFIG, NO_RETRIES

    client = dynamodb_session().client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=endpoint,
        config=DEFAULT_CONFIG.merge(NO_RETRIES),
    )
    if counts is not None:

        def count(event_name: str, **_: Any) -> None:
            counts.add(event_name.rsplit(".", 1)[-1])

        client.meta.events.register("before-send.dynamodb", count)
    return client


def firestore_client(host: str, project: str, counts: Counts | None) -> Any:
    """A firestore.Client on the emulator whose gRPC channel counts every request."""
    import grpc
    from google.cloud import firestore
    from google.cloud.firestore_v1.services.firestore import client as gapic_client
    from google.cloud.firestore_v1.services.firestore.transports import grpc as gapic_grpc

    def count(continuation: Any, details: Any, request: Any) -> Any:
        if counts is not None:
            counts.add(details.method.rsplit("/", 1)[-1])
        return continuation(details, request)

    class Counting(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
        def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
            return count(continuation, details, request)

        def intercept_unary_stream(self, continuation: Any, details: Any, request: Any) -> Any:
            return count(continuation, details, request)

    client = firestore.Client(project=project)
    channel = grpc.intercept_channel(grpc.insecure_channel(host), Counting())
    transport = gapic_grpc.FirestoreGrpcTransport(host=host, channel=channel)
    client._firestore_api_internal = gapic_client.FirestoreClient(transport=transport)
    return client


def s3_client(endpoint: str, counts: Counts | None) -> Any:
    """A boto3 S3 client built as the store builds its own (no retries), hooks counting."""
    from cloudlease_s3.store import make_client

    client = make_client(
        region="us-east-1",
        endpoint_url=endpoint,
        profile=None,
        session=dynamodb_session(),
        config=None,
        store="s3://bench",
    )
    if counts is not None:

        def count(event_name: str, **_: Any) -> None:
            counts.add(event_name.rsplit(".", 1)[-1])

        client.meta.events.register("before-send.s3", count)
    return client


def gcs_client(counts: Counts | None) -> Any:
    """A storage client on fake-gcs-server (as the store builds one), requests counted."""
    from cloudlease_gcs._errors import Translator
    from cloudlease_gcs.store import build_client
    from tests.gcs.wire import Wire

    client = build_client("cloudlease-bench", None, Translator("-", "-", "-"))
    if counts is not None:
        Wire(client, hook=counts.add)  # counts each request; injects nothing (add: None)
    return client


def azure_container(port: int, container: str, counts: Counts | None) -> Any:
    """A ContainerClient on Azurite whose transport counts every request on the wire."""
    from azure.core.pipeline.transport import RequestsTransport
    from azure.storage.blob import BlobServiceClient

    from tests.azure_blob.azurite import operation

    class Counting(RequestsTransport):  # type: ignore[misc]
        def send(self, request: Any, **kwargs: Any) -> Any:
            if counts is not None:
                counts.add(operation(request))
            return super().send(request, **kwargs)

    connection = (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint=http://127.0.0.1:{port}/{AZURITE_ACCOUNT};"
    )
    service = BlobServiceClient.from_connection_string(connection, transport=Counting())
    return service.get_container_client(container)


def new_container(port: int) -> str:
    name = "b" + uuid.uuid4().hex[:20]
    azure_container(port, name, None).create_container()
    return name


def open_store(spec: Spec, counts: Counts, **options: Any) -> BaseStore:
    """The store ``spec`` names, its requests counted into ``counts``."""
    kind = spec["kind"]
    if kind == "memory":
        from cloudlease.stores.memory import MemoryStore

        return _CountedPrimitives(MemoryStore(spec["name"], **options), counts)
    if kind == "sqlite":
        from cloudlease.stores.sqlite import SQLiteStore

        return _CountedPrimitives(SQLiteStore(spec["path"], **options), counts)
    if kind == "dynamodb":
        from cloudlease_dynamodb import DynamoDBStore

        client = dynamodb_client(spec["endpoint"], counts)
        return DynamoDBStore(spec["table"], client=client, **options)
    if kind == "firestore":
        from cloudlease_firestore import FirestoreStore

        client = firestore_client(spec["host"], spec["project"], counts)
        return FirestoreStore(spec["project"], spec["collection"], client=client, **options)
    if kind == "azure":
        from cloudlease_azure_blob import AzureBlobStore

        container = azure_container(spec["port"], spec["container"], counts)
        url = f"azblob://{AZURITE_ACCOUNT}/{spec['container']}"
        return AzureBlobStore(url, container_client=container, **options)
    if kind == "s3":
        from cloudlease_s3 import S3Store

        return S3Store(spec["bucket"], client=s3_client(spec["endpoint"], counts), **options)
    if kind == "gcs":
        from cloudlease_gcs import GCSStore

        return GCSStore(spec["bucket"], client=gcs_client(counts), **options)
    raise ValueError(f"unknown store kind {kind!r}")


def unwrap(store: BaseStore) -> BaseStore:
    """The real store under a counting wrapper (timings use it, not the wrapper)."""
    return store.inner if isinstance(store, FaultyStore) else store


def make_spec(kind: str, servers: Any, tmp: str, suffix: str) -> Spec | None:
    """A fresh place (file, table, collection, container) for ``kind``; None if unavailable."""
    if kind == "memory":
        return {"kind": kind, "name": f"bench-{suffix}"}
    if kind == "sqlite":
        return {"kind": kind, "path": f"{tmp}/bench-{suffix}.db"}
    if kind == "dynamodb":
        if servers.moto is None:
            return None
        from cloudlease_dynamodb import DynamoDBStore

        table = f"bench-{suffix}"
        store = DynamoDBStore(table, client=dynamodb_client(servers.moto, None))
        store.init()
        return {"kind": kind, "endpoint": servers.moto, "table": table}
    if kind == "firestore":
        if servers.firestore is None:
            return None
        from benchmarks._servers import FIRESTORE_PROJECT

        return {
            "kind": kind,
            "host": servers.firestore,
            "project": FIRESTORE_PROJECT,
            "collection": f"bench_{suffix}".replace("-", "_"),
        }
    if kind == "azure":
        if servers.azurite is None:
            return None
        return {"kind": kind, "port": servers.azurite, "container": new_container(servers.azurite)}
    if kind in OBJECT_KINDS:
        return object_spec(kind, servers, suffix)
    raise ValueError(kind)


def object_spec(kind: str, servers: Any, suffix: str) -> Spec | None:
    """A fresh bucket on moto (S3) or fake-gcs-server (Cloud Storage), made by ``init``."""
    bucket = f"bench-{suffix}-{uuid.uuid4().hex[:8]}"
    if kind == "s3":
        if servers.moto is None:
            return None
        from cloudlease_s3 import S3Store

        S3Store(bucket, client=s3_client(servers.moto, None)).init(create_bucket=True)
        return {"kind": kind, "endpoint": servers.moto, "bucket": bucket}
    if servers.gcs is None:
        return None
    from cloudlease_gcs import GCSStore

    GCSStore(bucket, client=gcs_client(None)).init(create_bucket=True)
    return {"kind": kind, "bucket": bucket}


#: Default lease ttl (s) of the timing sections: Azure blob leases last at least 15 s.
def ttl_for(kind: str, short: float) -> float:
    if kind == "gcs":
        return max(6.0, short)  # about one write per second per object: 6 s at least
    return 15.0 if kind == "azure" else short


Opener = Callable[[Spec, Counts], BaseStore]
