"""BlockingStore: the async side of a store, driven from sync code (the conformance suite).

Every method of the async store is awaited to its end on one event loop, so the suite written
for sync stores runs unchanged on the async side: the public methods are the async store's
own (its flows, driven by coroutines), and the primitives are its async primitives, so that
``FaultyStore`` injects faults at the same place as on the sync side. ``Sides`` lets a test
module parametrise a store's factory over both sides.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from cloudlease._validation import Duration
from cloudlease.async_store import AsyncBaseStore
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore, Wrapper

T = TypeVar("T")


class BlockingStore(Wrapper, BaseStore):
    """``inner`` (an async store) with sync methods, each run on ``loop`` to its end."""

    inner: AsyncBaseStore

    def __init__(self, inner: AsyncBaseStore, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(inner)
        self.loop = loop

    def _wait(self, pending: Awaitable[T]) -> T:
        return self.loop.run_until_complete(pending)

    def acquire(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        return self._wait(self.inner.acquire(name, holder, ttl, metadata))

    def renew(self, lease: Lease, ttl: Duration | None = None) -> Lease:
        return self._wait(self.inner.renew(lease, ttl))

    def release(self, lease: Lease) -> bool:
        return self._wait(self.inner.release(lease))

    def get(self, name: str) -> LeaseRecord | None:
        return self._wait(self.inner.get(name))

    def records(self) -> list[LeaseRecord]:
        return self._wait(self.inner.records())

    def force_release(self, name: str) -> LeaseRecord | None:
        return self._wait(self.inner.force_release(name))

    def delete_record(self, name: str) -> None:
        self._wait(self.inner.delete_record(name))

    def init(self) -> None:
        self._wait(self.inner.init())

    def close(self) -> None:
        self._wait(self.inner.close())

    # -- the primitives, for FaultyStore ----------------------------------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        return self._wait(self.inner._acquire(request))

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        return self._wait(self.inner._renew(lease, now_ms, ttl_ms))

    def _release(self, lease: Lease, now_ms: int) -> bool:
        return self._wait(self.inner._release(lease, now_ms))

    def _get(self, name: str) -> LeaseRecord | None:
        return self._wait(self.inner._get(name))

    def _list(self) -> list[LeaseRecord]:
        return self._wait(self.inner._list())

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        return self._wait(self.inner._force_release(name, now_ms))

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        return self.inner._state_after_ambiguous(previous_state, record)


class Sides:
    """``"sync"`` or ``"async"``: which side of a store a parametrised test runs on."""

    def __init__(self, side: str, loop: asyncio.AbstractEventLoop | None) -> None:
        self.side = side
        self.loop = loop
        self.made: list[BlockingStore] = []

    def factory(
        self, sync: Callable[..., BaseStore], asynchronous: Callable[..., AsyncBaseStore]
    ) -> Callable[..., BaseStore]:
        """``sync`` itself, or ``asynchronous``'s stores seen through a ``BlockingStore``."""
        loop = self.loop
        if loop is None:
            return sync

        def make(**options: Any) -> BaseStore:
            self.made.append(BlockingStore(asynchronous(**options), loop))
            return self.made[-1]

        return make


@contextmanager
def sides(side: str) -> Iterator[Sides]:
    """A ``Sides`` for ``side``; on the async side, one event loop for the whole test."""
    if side == "sync":
        yield Sides(side, None)
        return
    loop = asyncio.new_event_loop()
    chosen = Sides(side, loop)
    try:
        yield chosen
    finally:
        for store in chosen.made:  # client sessions end on the loop they were made on
            store.close()
        loop.close()
