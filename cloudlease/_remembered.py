"""``Remembered``: what a store last saw of each lease, as a hint that saves a request.

DynamoDB's items (for a one-PutItem acquire), Firestore's reads (for a steal's commit and the
state after a lost reply) and the object stores' versions (for a one-write acquire) are kept
here. A hint is only ever a precondition's guess: a stale one costs a request, never safety.
Bounded: past ``limit`` names, everything is forgotten at once (simple, and rare).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

V = TypeVar("V")

#: Names remembered per store.
LIMIT = 4096


class Remembered(Generic[V]):
    """A thread-safe map from lease name to what was last seen of it, at most ``limit`` long."""

    def __init__(self, limit: int = LIMIT) -> None:
        self.limit = limit
        self._seen: dict[str, V] = {}
        self._lock = threading.Lock()

    def get(self, name: str) -> V | None:
        with self._lock:
            return self._seen.get(name)

    def put(self, name: str, value: V) -> None:
        with self._lock:
            if len(self._seen) >= self.limit and name not in self._seen:
                self._seen.clear()
            self._seen[name] = value

    def pop(self, name: str) -> V | None:
        with self._lock:
            return self._seen.pop(name, None)

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)
