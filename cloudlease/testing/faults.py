"""FaultyStore: wrap any store and inject the faults a network causes.

Faults act on the wrapped store's primitives, so the real store applies (or never sees) each
request, and the library's own recovery (read back after an ambiguous outcome) runs unchanged:

- ``"lost"``: the request is applied, then its response is lost (an ambiguous timeout);
- ``"transient"``: the request fails before reaching the store (nothing applied);
- ``latency``: every request first waits that long on the store's clock.

Queue faults with ``fail_next(op, kind)``, or draw them at random with ``lost_rate`` /
``transient_rate`` and a seeded ``random.Random``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, deque
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from cloudlease.errors import StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore, Wrapper

T = TypeVar("T")
Op = Literal["acquire", "renew", "release", "get", "list", "force_release"]
FaultKind = Literal["lost", "transient"]


class FaultyStore(Wrapper, BaseStore):
    """A store that behaves like ``inner`` except for the faults it is told to inject."""

    inner: BaseStore

    def __init__(
        self,
        inner: BaseStore,
        *,
        lost_rate: float = 0.0,
        transient_rate: float = 0.0,
        latency: float = 0.0,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(inner)  # the inner store's replies measure the clock
        self.lost_rate = lost_rate
        self.transient_rate = transient_rate
        self.latency = latency
        self.rng = rng or random.Random(0)
        self.requests: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()
        self._queued: dict[str, deque[FaultKind]] = {}
        self._lock = threading.Lock()

    def fail_next(self, op: Op, kind: FaultKind, times: int = 1) -> None:
        """Inject ``kind`` into the next ``times`` requests of ``op``."""
        with self._lock:
            self._queued.setdefault(op, deque()).extend([kind] * times)

    def _fault_for(self, op: str) -> FaultKind | None:
        with self._lock:
            self.requests[op] += 1
            queue = self._queued.get(op)
            if queue:
                kind: FaultKind | None = queue.popleft()
            else:
                draw = self.rng.random()
                kind = (
                    "lost"
                    if draw < self.lost_rate
                    else "transient"
                    if draw < self.lost_rate + self.transient_rate
                    else None
                )
            if kind is not None:
                self.injected[f"{op}:{kind}"] += 1
            return kind

    def _call(self, op: str, name: str | None, body: Callable[[], T]) -> T:
        if self.latency > 0:
            self.clock.wait(threading.Event(), self.latency)
        kind = self._fault_for(op)
        if kind == "transient":
            raise StoreUnavailable(
                f"injected transient fault before {op}", lease=name, store=self.url
            )
        result = body()
        if kind == "lost":
            raise StoreUnavailable(
                f"injected lost response after {op}", lease=name, store=self.url, ambiguous=True
            )
        return result

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        return self._call("acquire", request.name, lambda: self.inner._acquire(request))

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        return self._call("renew", lease.name, lambda: self.inner._renew(lease, now_ms, ttl_ms))

    def _release(self, lease: Lease, now_ms: int) -> bool:
        return self._call("release", lease.name, lambda: self.inner._release(lease, now_ms))

    def _get(self, name: str) -> LeaseRecord | None:
        return self._call("get", name, lambda: self.inner._get(name))

    def _list(self) -> list[LeaseRecord]:
        return self._call("list", None, self.inner._list)

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        return self._call("force_release", name, lambda: self.inner._force_release(name, now_ms))

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        return self.inner._state_after_ambiguous(previous_state, record)

    def delete_record(self, name: str) -> None:
        self.inner.delete_record(name)

    def init(self) -> None:
        self.inner.init()

    def close(self) -> None:
        self.inner.close()
