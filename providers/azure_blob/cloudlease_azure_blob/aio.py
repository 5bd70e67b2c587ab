"""``AsyncAzureBlobStore``: the async side of the Azure Blob store, on ``azure.storage.blob.aio``.

The requests, the decisions on their replies and the error translation are the sync store's
(``AzureCore``'s flows); only the transport differs: each request is awaited on an aio
``ContainerClient`` (and its blob and blob lease clients), closed by ``await store.close()``
(or ``async with store``). Install ``cloudlease-azure-blob[async]`` (aiohttp); open it with
``open_async_store("azblob://ACCOUNT/CONTAINER")``.
"""

from __future__ import annotations

from typing import Any, TypeVar

from azure.storage.blob.aio import BlobLeaseClient, ContainerClient

from cloudlease._flows import Call, Flow, Step, run_async
from cloudlease.async_store import AsyncBaseStore
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease_azure_blob._core import AzureCore

T = TypeVar("T")


class AsyncAzureBlobStore(AzureCore, AsyncBaseStore):
    """``AzureBlobStore``'s container, blobs and options, with coroutine methods.

    ``container_client`` is an ``azure.storage.blob.aio.ContainerClient`` you own; without it
    the store makes one as the sync store does (connection string or DefaultAzureCredential).
    """

    _aio = True
    _lease_client = BlobLeaseClient
    container_client: ContainerClient

    async def perform(self, step: Step) -> Any:
        """Send one request of a flow on the aio SDK."""
        assert isinstance(step, Call), step  # the Azure flows never pause
        result = self.requests.bound(step)()
        if step.method == "list":
            return [item async for item in result]
        result = await result
        if step.method == "download":
            return await result.readall()
        return result

    async def run(self, flow: Flow[T]) -> T:
        """Drive one of the store's flows (e.g. ``store.blobs.read(name)``) to its end."""
        return await run_async(flow, self.perform)

    # -- primitives -------------------------------------------------------------------------

    async def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        return await self.run(self._acquire_calls(request))

    async def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        return await self.run(self._renew_calls(lease, now_ms, ttl_ms))

    async def _release(self, lease: Lease, now_ms: int) -> bool:
        return await self.run(self._release_calls(lease, now_ms))

    async def _get(self, name: str) -> LeaseRecord | None:
        return await self.run(self._get_calls(name))

    async def _list(self) -> list[LeaseRecord]:
        return await self.run(self._list_calls())

    async def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        return await self.run(self._force_release_calls(name, now_ms))

    # -- administration ---------------------------------------------------------------------

    async def init(self) -> None:
        """Create the container; idempotent."""
        await self.run(self._init_calls())

    async def delete_record(self, name: str) -> None:
        """Delete the lease blob (breaking its lease first), as an operator would."""
        await self.run(self._delete_calls(name))

    async def close(self) -> None:
        await self.container_client.close()
        if self._credential is not None:
            await self._credential.close()

    # -- the lease blob's content -----------------------------------------------------------

    async def write_lease_blob(self, lease: Lease, data: bytes) -> None:
        """``AzureBlobStore.write_lease_blob``, awaited: Azure refuses a stale holder's write."""
        await self.run(self._write_blob_calls(lease, data))

    async def read_lease_blob(self, name: str) -> bytes:
        """The lease blob's content (empty until a holder writes it)."""
        return await self.run(self._read_blob_calls(name))


def from_url(url: str, **options: Any) -> AsyncAzureBlobStore:
    """The async side of ``azblob://ACCOUNT/CONTAINER?endpoint=URL&prefix=P`` (entry point
    ``azblob`` of ``cloudlease.async_stores``); the options are ``AzureBlobStore``'s."""
    return AsyncAzureBlobStore(url, **options)
