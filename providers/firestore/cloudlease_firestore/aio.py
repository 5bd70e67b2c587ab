"""``AsyncFirestoreStore``: the async side of the Firestore store, on ``firestore.AsyncClient``.

The requests, preconditions, retries of ABORTED and error translation are the sync store's
(``FirestoreCore``'s flows); only the transport differs: each RPC is awaited on the
``AsyncClient``'s gRPC channel (``grpc.aio``), made on first use and closed by ``await
store.close()`` (or ``async with store``). Open it with
``open_async_store("firestore://PROJECT/COLLECTION")``: google-cloud-firestore has its async
client built in, so there is nothing more to install.

Fenced writes (``FirestoreStore.fence`` in your transaction) are the sync store's only.
"""

from __future__ import annotations

import asyncio
from typing import Any

from google.cloud import firestore

from cloudlease._flows import Call, Flow, Step, run_async
from cloudlease.async_store import AsyncBaseStore
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease_firestore._client import build_client
from cloudlease_firestore._core import FirestoreCore
from cloudlease_firestore._rpc import Rpc
from cloudlease_firestore._url import parse_url


class AsyncFirestoreStore(FirestoreCore, AsyncBaseStore):
    """``FirestoreStore``'s collection, records and options, with coroutine methods.

    ``client`` is a ``firestore.AsyncClient`` you own; without it the store makes one from
    ``credentials`` (or Application Default Credentials) on first use, and closes it.
    """

    _opening: asyncio.Lock | None = None

    async def client(self) -> firestore.AsyncClient:
        """The ``firestore.AsyncClient`` (made on first use)."""
        await self._connect()
        client: firestore.AsyncClient = self._client
        return client

    async def _connect(self) -> Rpc:
        if self._rpc is None:
            self._opening = self._opening or asyncio.Lock()
            async with self._opening:
                if self._rpc is None:
                    client = self._client or build_client(
                        firestore.AsyncClient,
                        self.project or None,
                        self.database,
                        self._credentials,
                        self.where,
                    )
                    self._made(client)
        return self.rpc

    async def _run(self, flow: Flow[Any]) -> Any:
        rpc = await self._connect()

        async def send(step: Step) -> Any:
            assert isinstance(step, Call), step  # Firestore flows never pause
            return await rpc.send_async(step.method, step.args[0])

        return await run_async(flow, send)

    async def init(self) -> None:
        """Check access by reading one document (``FirestoreStore.init``)."""
        await self._run(self._init_calls())

    async def close(self) -> None:
        """Close the client this store made (a client passed in is yours to close)."""
        rpc, self._rpc = self._rpc, None
        if rpc is not None and self._owns_client:
            await rpc.api.transport.close()
            self._client = None

    async def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        result: tuple[LeaseRecord, Any] = await self._run(self._acquire_calls(request))
        return result

    async def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        result: tuple[LeaseRecord, Any] = await self._run(self._renew_calls(lease, now_ms, ttl_ms))
        return result

    async def _release(self, lease: Lease, now_ms: int) -> bool:
        return bool(await self._run(self._release_calls(lease, now_ms)))

    async def _get(self, name: str) -> LeaseRecord | None:
        record: LeaseRecord | None = await self._run(self._get_calls(name))
        return record

    async def _list(self) -> list[LeaseRecord]:
        records: list[LeaseRecord] = await self._run(self._list_calls())
        return records

    async def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        record: LeaseRecord | None = await self._run(self._force_release_calls(name, now_ms))
        return record

    async def delete_record(self, name: str) -> None:
        """Delete the lease document, as a TTL policy or an operator would."""
        await self._run(self._delete_calls(name))


def from_url(url: str, **options: Any) -> AsyncFirestoreStore:
    """The async side of ``firestore://PROJECT/COLLECTION?database=&timeout=...``."""
    project, collection = parse_url(url, options)
    return AsyncFirestoreStore(project, collection, **options)
