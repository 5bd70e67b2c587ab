"""The async side of the embedded stores (``open_async_store("memory://")`` / ``"sqlite:///"``).

Memory runs its primitives inline on the event loop (a dict behind a lock: nothing to wait for);
SQLite hops each request to the default executor's threads (``asyncio.to_thread``), so a busy
file never blocks the loop and no thread is held per lease. aiosqlite is not needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cloudlease.async_store import SyncBackedStore
from cloudlease.stores import memory, sqlite


class AsyncMemoryStore(SyncBackedStore):
    """``MemoryStore`` (same options, same shared shelves) with coroutine methods."""

    def __init__(self, name: str = "", **options: Any) -> None:
        super().__init__(memory.MemoryStore(name, **options), hop=False)


class AsyncSQLiteStore(SyncBackedStore):
    """``SQLiteStore`` (same file, same options) with coroutine methods, on worker threads."""

    def __init__(self, path: str | Path, **options: Any) -> None:
        super().__init__(sqlite.SQLiteStore(path, **options), hop=True)


def memory_from_url(url: str, **options: Any) -> SyncBackedStore:
    """The async side of ``memory://[NAME]``."""
    return SyncBackedStore(memory.from_url(url, **options), hop=False)


def sqlite_from_url(url: str, **options: Any) -> SyncBackedStore:
    """The async side of ``sqlite:///PATH``."""
    return SyncBackedStore(sqlite.from_url(url, **options), hop=True)
