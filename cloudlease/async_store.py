"""The async side of the store contract: ``AsyncLeaseStore`` and ``AsyncBaseStore``.

``AsyncBaseStore`` drives the very flows of ``cloudlease.store.StoreCore`` (input checks,
request building, ambiguous outcomes resolved by reading back, Lease building) from coroutines,
over async primitives: only the I/O differs from the sync side. ``SyncBackedStore`` gives a
sync store's primitives an async side, run inline (memory: no I/O) or on a worker thread
(SQLite: the documented thread hop). Open the async side of any store with
``cloudlease.open_async_store(url)``. This module does not import asyncio.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, Protocol, TypeVar, runtime_checkable

from cloudlease._flows import Call, Step, run_async
from cloudlease._validation import Duration
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore, StoreCore, StoreSettings, Wrapper

T = TypeVar("T")


@runtime_checkable
class AsyncLeaseStore(StoreSettings, Protocol):
    """``LeaseStore`` with coroutine methods: what ``async with hold(...)`` and the other
    async front doors need from a store."""

    is_async: bool

    async def acquire(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease: ...

    async def steal(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease: ...

    async def renew(self, lease: Lease, ttl: Duration | None = None) -> Lease: ...

    async def release(self, lease: Lease) -> bool: ...

    async def get(self, name: str) -> LeaseRecord | None: ...

    async def records(self) -> list[LeaseRecord]: ...

    async def force_release(self, name: str) -> LeaseRecord | None: ...

    async def init(self) -> None: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> AsyncLeaseStore: ...

    async def __aexit__(self, *exc_info: object) -> None: ...


class AsyncBaseStore(StoreCore):
    """The async side of a store: ``StoreCore``'s flows awaited over async primitives.

    The methods mean what ``BaseStore``'s do (see there); each primitive is one request.
    """

    is_async = True

    async def acquire(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        """``BaseStore.acquire``, awaited."""
        request, start = self._acquire_request(name, holder, ttl, metadata)
        return await run_async(self._acquire_flow(request, start), self._perform)

    async def steal(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        """``BaseStore.steal``, awaited."""
        return await run_async(self._steal_flow(name, holder, ttl, metadata), self._perform)

    async def renew(self, lease: Lease, ttl: Duration | None = None) -> Lease:
        """``BaseStore.renew``, awaited."""
        return await run_async(self._renew_flow(lease, ttl), self._perform)

    async def release(self, lease: Lease) -> bool:
        """``BaseStore.release``, awaited."""
        return await run_async(self._release_flow(lease), self._perform)

    async def get(self, name: str) -> LeaseRecord | None:
        """``BaseStore.get``, awaited."""
        record: LeaseRecord | None = await self._perform(self._get_step(name))
        return record

    async def records(self) -> list[LeaseRecord]:
        """``BaseStore.records``, awaited."""
        return sorted(await self._list(), key=lambda record: record.name)

    async def force_release(self, name: str) -> LeaseRecord | None:
        """``BaseStore.force_release``, awaited."""
        record: LeaseRecord | None = await self._perform(self._force_release_step(name))
        return record

    async def delete_record(self, name: str) -> None:
        """``BaseStore.delete_record``, awaited."""
        raise NotImplementedError(f"{type(self).__name__} cannot delete records")

    async def init(self) -> None:
        """Create what the store needs; idempotent."""

    async def close(self) -> None:
        """Release client resources (sessions, connections)."""

    async def _perform(self, step: Step) -> Any:
        assert isinstance(step, Call), step  # store flows only call primitives
        return await getattr(self, step.method)(*step.args)

    async def __aenter__(self: T) -> T:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- primitives: the sync side's (``BaseStore``), as coroutines ------------------------

    @abstractmethod
    async def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]: ...

    @abstractmethod
    async def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]: ...

    @abstractmethod
    async def _release(self, lease: Lease, now_ms: int) -> bool: ...

    @abstractmethod
    async def _get(self, name: str) -> LeaseRecord | None: ...

    @abstractmethod
    async def _list(self) -> list[LeaseRecord]: ...

    @abstractmethod
    async def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None: ...


class SyncBackedStore(Wrapper, AsyncBaseStore):
    """The async side of a sync store whose primitives are cheap or local.

    ``hop=False`` runs them inline on the event loop (memory: a dict behind a lock, no I/O);
    ``hop=True`` runs each on the default executor's threads (``asyncio.to_thread``: SQLite's
    file I/O), so the loop never waits on a busy file. Either way no thread is held per lease.
    """

    inner: BaseStore

    def __init__(self, inner: BaseStore, *, hop: bool) -> None:
        super().__init__(inner)
        self.hop = hop

    async def _on_store(self, primitive: Callable[..., T], *args: Any) -> T:
        if not self.hop:
            return primitive(*args)
        import asyncio  # only the async side pays for it

        return await asyncio.to_thread(primitive, *args)

    async def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        return await self._on_store(self.inner._acquire, request)

    async def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        return await self._on_store(self.inner._renew, lease, now_ms, ttl_ms)

    async def _release(self, lease: Lease, now_ms: int) -> bool:
        return await self._on_store(self.inner._release, lease, now_ms)

    async def _get(self, name: str) -> LeaseRecord | None:
        return await self._on_store(self.inner._get, name)

    async def _list(self) -> list[LeaseRecord]:
        return await self._on_store(self.inner._list)

    async def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        return await self._on_store(self.inner._force_release, name, now_ms)

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        return self.inner._state_after_ambiguous(previous_state, record)

    async def delete_record(self, name: str) -> None:
        await self._on_store(self.inner.delete_record, name)

    async def init(self) -> None:
        await self._on_store(self.inner.init)

    async def close(self) -> None:
        await self._on_store(self.inner.close)
