"""``memory://[NAME]``: a thread-safe store inside one process, for tests and local work.

Stores opened with the same NAME in one process share their records, so the layers above can
be exercised from several threads. Nothing survives the process.
"""

from __future__ import annotations

import threading

from cloudlease import records as rules
from cloudlease.errors import ConfigError
from cloudlease.store import BaseStore, Capabilities

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from typing_extensions import Unpack

    from cloudlease._contract import Timing
    from cloudlease.lease import Lease, LeaseRecord
    from cloudlease.records import AcquireRequest


class _Shelf:
    """The records of one named memory store, behind one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.records: dict[str, LeaseRecord] = {}


_SHELVES: dict[str, _Shelf] = {}
_SHELVES_LOCK = threading.Lock()


class MemoryStore(BaseStore):
    """Records in a dict; each operation is atomic under one lock."""

    capabilities = Capabilities(shared_across="process")

    def __init__(
        self,
        name: str = "",
        **timing: Unpack[Timing],
    ) -> None:
        super().__init__(**timing)
        self.name = name
        self._url = f"memory://{name}"
        if name:
            with _SHELVES_LOCK:
                self._shelf = _SHELVES.setdefault(name, _Shelf())
        else:
            self._shelf = _Shelf()

    @property
    def url(self) -> str:
        return self._url

    def put(self, record: LeaseRecord) -> None:
        """Store ``record`` as it is, with no rule applied (local stand-ins and tests)."""
        with self._shelf.lock:
            self._shelf.records[record.name] = record

    def delete_record(self, name: str) -> None:
        """Drop a record outright, as a TTL sweep or an operator would (tests use it)."""
        with self._shelf.lock:
            self._shelf.records.pop(name, None)

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        with self._shelf.lock:
            current = self._shelf.records.get(request.name)
            if not rules.can_acquire(current, request):
                assert current is not None
                raise self._held(request, current)
            record = rules.acquired(current, request)
            self._shelf.records[request.name] = record
            return record, None

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        with self._shelf.lock:
            current = self._shelf.records.get(lease.name)
            if current is None or not rules.holds(current, lease.holder, lease.token):
                raise self._lost(lease, current)
            record = rules.renewed(current, now_ms, ttl_ms)
            self._shelf.records[lease.name] = record
            return record, None

    def _release(self, lease: Lease, now_ms: int) -> bool:
        with self._shelf.lock:
            current = self._shelf.records.get(lease.name)
            if current is None or not rules.holds(current, lease.holder, lease.token):
                return False
            self._shelf.records[lease.name] = rules.released(current, now_ms)
            return True

    def _get(self, name: str) -> LeaseRecord | None:
        with self._shelf.lock:
            return self._shelf.records.get(name)

    def _list(self) -> list[LeaseRecord]:
        with self._shelf.lock:
            return list(self._shelf.records.values())

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        with self._shelf.lock:
            current = self._shelf.records.get(name)
            if current is not None:
                self._shelf.records[name] = rules.released(current, now_ms)
            return current


def from_url(url: str, **options: Any) -> MemoryStore:
    """Open ``memory://`` (private to this object) or ``memory://NAME`` (shared in-process)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "memory" or parts.path not in ("", "/") or parts.query:
        raise ConfigError(
            f"cannot parse memory store URL {url!r}: use 'memory://' or 'memory://NAME'",
            store=url,
        )
    return MemoryStore(parts.netloc, **options)
