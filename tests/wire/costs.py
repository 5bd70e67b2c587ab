"""The request costs every object store (S3, GCS) must keep, counted on its own wire.

An object store writes on a condition of the version it last saw (S3's ETag, GCS's
generation): it reads only when it knows no version, and refuses on that read alone.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Protocol

import pytest

from cloudlease.errors import LeaseHeld
from cloudlease.testing import FakeClock


class Counted(Protocol):
    """A wire hook that counts requests per operation (``tests/s3/wire.py``, ``gcs/wire.py``)."""

    requests: Counter[str]

    def reset(self) -> None: ...


def assert_object_store_costs(
    make_store: Callable[..., Any],
    wire: Callable[[Any], Counted],
    *,
    read: str,
    write: str,
    state: type,
) -> Any:
    """Acquire with nothing known: a read and a write; renew, release, and acquire again
    (known free from our own release): a write each; a rival's refused acquire: its read alone.

    ``make_store(clock=...)`` makes a store, ``wire(client)`` counts its client's requests;
    ``state`` is the store state a grant carries. Returns the rival's store.
    """
    clock = FakeClock()
    store = make_store(clock=clock)
    counted = wire(store.client)
    lease = store.acquire("job", "holder-a", 10)  # nothing known: read (not found), create
    assert counted.requests == Counter({read: 1, write: 1})
    assert isinstance(lease.store_state, state)
    counted.reset()
    store.release(store.renew(lease))
    assert counted.requests == Counter({write: 2})  # the grant carries the version
    counted.reset()
    store.acquire("job", "holder-a", 10)  # known free from our own release: one write
    assert counted.requests == Counter({write: 1})
    rival = make_store(clock=clock)
    rival_counted = wire(rival.client)
    with pytest.raises(LeaseHeld):
        rival.acquire("job", "holder-b", 10)  # refused on its read alone
    assert rival_counted.requests == Counter({read: 1})
    return rival
