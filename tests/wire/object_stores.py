"""What every object store (S3, GCS) must do, each checked on the store's own wire hook.

An object store writes on a condition of the version it last saw (S3's ETag, GCS's
generation): it reads only when it knows no version, refuses on that read alone, resolves a
lost write by reading back, and gives up on a throttled write without writing anything.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from cloudlease.errors import LeaseHeld, StoreUnavailable
from cloudlease.testing import FakeClock


class Counted(Protocol):
    """A wire hook that counts requests per operation (``tests/s3/wire.py``, ``gcs/wire.py``)."""

    requests: Counter[str]

    def reset(self) -> None: ...

    def lose_response(self, op: str, kind: str = "timeout", times: int = 1) -> None: ...


@dataclass(frozen=True)
class ObjectStoreWire:
    """An object store's maker (``make_store(clock=..., **options)``), its wire hook
    (``wire(client)`` counts that client's requests), the names of its read and its write, and
    ``read_object(key)``: the content type and the bytes of an object, read past the store."""

    make_store: Callable[..., Any]
    wire: Callable[[Any], Counted]
    read: str
    write: str
    read_object: Callable[[str], tuple[str, bytes]]

    def opened(self, clock: FakeClock, **options: Any) -> tuple[Any, Counted]:
        """A store on ``clock`` and the hook that counts its requests."""
        store = self.make_store(clock=clock, **options)
        return store, self.wire(store.client)

    def assert_costs(self, state: type) -> Any:
        """Acquire with nothing known: a read and a write; renew, release, and acquire again
        (known free from our own release): a write each; a rival's refused acquire: its read
        alone, and its steal: a read and a write. ``state`` is the store state a grant carries.
        Returns the rival's store."""
        clock = FakeClock()
        store, counted = self.opened(clock)
        lease = store.acquire("job", "holder-a", 10)  # nothing known: read (not found), create
        assert counted.requests == Counter({self.read: 1, self.write: 1})
        assert isinstance(lease.store_state, state)
        counted.reset()
        store.release(store.renew(lease))
        assert counted.requests == Counter({self.write: 2})  # the grant carries the version
        counted.reset()
        store.acquire("job", "holder-a", 10)  # known free from our own release: one write
        assert counted.requests == Counter({self.write: 1})
        rival, rival_counted = self.opened(clock)
        with pytest.raises(LeaseHeld):
            rival.acquire("job", "holder-b", 10)  # refused on its read alone
        assert rival_counted.requests == Counter({self.read: 1})
        rival_counted.reset()
        rival.steal("job", "holder-b", 10)  # a steal: its read, then one conditional write
        assert rival_counted.requests == Counter({self.read: 1, self.write: 1})
        assert rival.capabilities.round_trips["steal"] == 2
        return rival

    def stored_document(self, kind: str, schema: int) -> tuple[Any, dict[str, Any]]:
        """Acquire "job" (metadata ``{"host": "a"}``): its object is plain JSON, of ``kind``
        and ``schema``. Returns the lease and the document."""
        store = self.make_store(clock=FakeClock())
        lease = store.acquire("job", "holder-a", 10, {"host": "a"})
        content_type, body = self.read_object("leases/job")
        assert content_type == "application/json"
        document: dict[str, Any] = json.loads(body)
        assert (document["kind"], document["schema"]) == (kind, schema)
        return lease, document

    def assert_a_lost_write_is_read_back(self, kind: str) -> None:
        """The reply to an acquire's write is lost (``kind``; the write applied): one read back
        settles it, and teaches the grant its version, so the next renewal is one write."""
        clock = FakeClock()
        store, counted = self.opened(clock)
        counted.lose_response(self.write, kind)
        lease = store.acquire("job", "holder-a", 10)
        assert counted.requests == Counter({self.read: 2, self.write: 1})  # read, write, read
        assert store.get("job") == lease.record
        counted.reset()
        clock.advance(1)
        store.renew(lease)
        assert counted.requests == Counter({self.write: 1})

    def throttled_past_the_budget(
        self, throttle: Callable[[Any], None], budget: float
    ) -> tuple[StoreUnavailable, Counted]:
        """Every write is throttled (``throttle(wire)``) for longer than the ``budget`` of
        retries: the acquire raises StoreUnavailable, not LeaseHeld and not ambiguous, and
        nothing was written. Returns the error and the hook."""
        store, counted = self.opened(FakeClock(autoadvance=True), retry_budget=budget)
        throttle(counted)
        with pytest.raises(StoreUnavailable) as caught:
            store.acquire("job", "holder-a", 10)
        assert not isinstance(caught.value, LeaseHeld) and not caught.value.ambiguous
        assert self.make_store().get("job") is None
        return caught.value, counted
