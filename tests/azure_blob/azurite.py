"""Azurite (the Azure Blob emulator) for the tests, and a transport that counts and breaks.

``RecordingTransport`` sits below the SDK's retry policy: it sees every request on the wire,
counts it by operation, and injects the faults a network causes (a request lost before it
was sent, or a response lost after Azurite applied the request).
"""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from azure.core.exceptions import ServiceRequestError, ServiceResponseError
from azure.core.pipeline.transport import HttpRequest, HttpResponse, RequestsTransport
from azure.storage.blob import BlobServiceClient, ContainerClient, LinearRetry

from cloudlease.clock import Clock
from cloudlease_azure_blob import AzureBlobStore

ACCOUNT = "devstoreaccount1"
#: Azurite's well-known development key (public, documented by Microsoft).
KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def operation(request: HttpRequest) -> str:
    """A short name for what ``request`` does, e.g. ``lease:acquire`` or ``set_metadata``."""
    query = parse_qs(urlsplit(request.url).query)
    comp = query.get("comp", [""])[0]
    if comp == "lease":
        return "lease:" + request.headers.get("x-ms-lease-action", "?")
    if comp:
        return f"{request.method.lower()}:{comp}"
    if "restype" in query:
        return f"{request.method.lower()}:container"
    return {"HEAD": "get_properties", "PUT": "put_blob", "GET": "download"}.get(
        request.method, request.method.lower()
    )


@dataclass
class Fault:
    op: str
    kind: str  # "lost" (sent, response lost) or "unsent" (never reached Azurite)
    times: int


class RecordingTransport(RequestsTransport):  # type: ignore[misc]
    """A requests transport that counts requests by operation and injects faults."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requests: Counter[str] = Counter()
        self._faults: list[Fault] = []
        self._lock = threading.Lock()

    def fail(self, op: str, kind: str, times: int = 1) -> None:
        """Inject ``kind`` into the next ``times`` requests of ``op`` (e.g. "lease:acquire")."""
        with self._lock:
            self._faults.append(Fault(op, kind, times))

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def total(self) -> int:
        return sum(self.requests.values())

    def _fault(self, op: str) -> str | None:
        with self._lock:
            self.requests[op] += 1
            for fault in self._faults:
                if fault.op == op and fault.times > 0:
                    fault.times -= 1
                    return fault.kind
        return None

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        op = operation(request)
        kind = self._fault(op)
        if kind == "unsent":
            raise ServiceRequestError(f"injected: {op} never reached the server")
        response: HttpResponse = super().send(request, **kwargs)
        if kind == "lost":
            raise ServiceResponseError(f"injected: the response to {op} was lost")
        return response


def quick_retries() -> LinearRetry:
    """The store's retry policy, with the waits shortened for tests (retries still happen)."""
    backoff: Any = 0.01  # the SDK's stubs say int; it takes a float
    jitter: Any = 0.005
    return LinearRetry(backoff=backoff, random_jitter_range=jitter, retry_total=3)


@dataclass
class Azurite:
    """A running Azurite blob service on loopback."""

    port: int
    transports: list[RecordingTransport] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT}"

    @property
    def connection_string(self) -> str:
        return (
            f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={KEY};"
            f"BlobEndpoint={self.endpoint};"
        )

    def service(self, **options: Any) -> BlobServiceClient:
        return BlobServiceClient.from_connection_string(self.connection_string, **options)

    def new_container(self) -> str:
        name = "t" + uuid.uuid4().hex[:20]
        with self.service() as service:
            service.create_container(name)
        return name

    def container_client(self, container: str, **options: Any) -> ContainerClient:
        return self.service(**options).get_container_client(container)

    def url(self, container: str) -> str:
        return f"azblob://{ACCOUNT}/{container}"

    def store(
        self, container: str, *, clock: Clock | None = None, **options: Any
    ) -> tuple[AzureBlobStore, RecordingTransport]:
        """A store on ``container`` whose requests go through a RecordingTransport."""
        transport = RecordingTransport()
        client = self.container_client(container, transport=transport, retry_policy=quick_retries())
        store = AzureBlobStore(self.url(container), container_client=client, clock=clock, **options)
        return store, transport
