"""AzureBlobStore: one blob per lease; the blob lease is the lock, the server owns expiry.

Every decision (the requests of each operation, what a reply means) is ``AzureCore``'s
(``_core``), written once as flows; this store sends their requests on the sync SDK. The
async side is ``cloudlease_azure_blob.aio.AsyncAzureBlobStore``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

from cloudlease._flows import Call, Flow, Step, run
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore
from cloudlease_azure_blob._core import AzureCore

T = TypeVar("T")


class AzureBlobStore(AzureCore, BaseStore):
    """Leases as blobs ``PREFIX + name`` in one container, guarded by Azure blob leases."""

    _lease_client = BlobLeaseClient
    container_client: ContainerClient

    def perform(self, step: Step) -> Any:
        """Send one request of a flow on the sync SDK."""
        assert isinstance(step, Call), step  # the Azure flows never pause
        result = self.requests.bound(step)()
        if step.method == "list":
            return list(result)
        if step.method == "download":
            return result.readall()
        return result

    def run(self, flow: Flow[T]) -> T:
        """Drive one of the store's flows (e.g. ``store.blobs.read(name)``) to its end."""
        return run(flow, self.perform)

    def blob(self, name: str) -> BlobClient:
        """The SDK client of lease ``name``'s blob."""
        client: BlobClient = self.requests.blob(self.blobs.name_of(name))
        return client

    # -- primitives -------------------------------------------------------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        return self.run(self._acquire_calls(request))

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        return self.run(self._renew_calls(lease, now_ms, ttl_ms))

    def _release(self, lease: Lease, now_ms: int) -> bool:
        return self.run(self._release_calls(lease, now_ms))

    def _get(self, name: str) -> LeaseRecord | None:
        return self.run(self._get_calls(name))

    def _list(self) -> list[LeaseRecord]:
        return self.run(self._list_calls())

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        return self.run(self._force_release_calls(name, now_ms))

    # -- administration ---------------------------------------------------------------------

    def init(self) -> None:
        """Create the container; idempotent."""
        self.run(self._init_calls())

    def delete_record(self, name: str) -> None:
        """Delete the lease blob (breaking its lease first), as an operator would."""
        self.run(self._delete_calls(name))

    def close(self) -> None:
        self.container_client.close()
        if self._credential is not None:
            self._credential.close()

    # -- the lease blob's content -----------------------------------------------------------

    def write_lease_blob(self, lease: Lease, data: bytes) -> None:
        """Replace the lease blob's content under the blob lease (the record is kept).

        Azure itself refuses the write once the blob lease is not ``lease``'s (taken over,
        broken, lapsed): that raises LeaseLost.
        """
        self.run(self._write_blob_calls(lease, data))

    def read_lease_blob(self, name: str) -> bytes:
        """The lease blob's content (empty until a holder writes it)."""
        return self.run(self._read_blob_calls(name))


def from_url(url: str, **options: Any) -> AzureBlobStore:
    """Open ``azblob://ACCOUNT/CONTAINER?endpoint=URL&prefix=P`` (entry point ``azblob``).

    Options: ``container_client`` (an injected ContainerClient), ``clock``,
    ``takeover_allowance``, ``clock_skew_bound``, ``safety_margin``, ``client_options`` (keyword
    arguments for the SDK client).
    """
    return AzureBlobStore(url, **options)
