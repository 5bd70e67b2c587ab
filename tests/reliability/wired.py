"""Faults at the wire in the histories: a share of each cloud store's histories runs its SDK
client through the fault proxy (``tests/wire/proxy.py``), which drops, resets and delays
requests at random, below the SDK.

``SimStore`` injects lost responses and transient errors above the store; faults at the wire
reach the SDK's own machinery instead: a connection closed or reset after the server applied
the request (botocore raises, the Azure SDK retries the request, a gRPC channel dies with every
stream on it), a request reset before it was forwarded, a reply held past the client's read
timeout or deadline, a short delay, an HTTP/2 stream answered with RST_STREAM.

The simulation sends one request at a time (see ``InProcessDynamoDBBackend``), so the proxy sees
the requests in the history's order and draws each one's fault from a generator seeded by the
history: a seed replays the same faults, unless a real-time timeout (a "hold") lands
differently on a loaded machine, which only changes which fault the history saw.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import Any

from cloudlease.store import BaseStore
from cloudlease.testing.history import History
from tests.reliability.sim import Sim, SimClock
from tests.wire.proxy import Action, FaultProxy, Request

#: Faults on HTTP/1.1 (moto, Azurite) and their weights. "hold" keeps the reply until the client
#: gives up (its read timeout, paid in real seconds): the rarest, it is the costliest.
HTTP1: Mapping[str, int] = {"drop": 6, "reset": 6, "reset_request": 6, "delay": 4, "hold": 1}
#: Faults on HTTP/2 (gRPC to the Firestore emulator): also RST_STREAM on one stream.
HTTP2: Mapping[str, int] = {
    "drop": 5,
    "reset": 5,
    "reset_stream": 6,
    "reset_request": 5,
    "delay": 4,
    "hold": 1,
}


#: The share of requests of a wired history that meet a fault at the wire.
RATE = 0.05
DELAY = 0.05  # real seconds of a short "delay" (below every client's timeout)


class WireFaults:
    """Arms ``proxy`` for one history at a time: each request draws a fault (or none)."""

    def __init__(
        self,
        proxy: FaultProxy,
        weights: Mapping[str, int],
        rate: float = RATE,
    ) -> None:
        self.proxy = proxy
        self.labels = list(weights)
        self.weights = list(weights.values())
        self.rate = rate
        self._lock = threading.Lock()
        self._rng = random.Random(0)
        self._history: History | None = None
        self._request: Request | None = None
        self._label: str | None = None

    def begin(self, history: History, rng: random.Random) -> None:
        with self._lock:
            self._history, self._rng = history, random.Random(rng.getrandbits(64))
            self._request = None
        for label in self.labels:
            action: Action = "delay" if label in ("delay", "hold") else label  # type: ignore[assignment]
            seconds = {"delay": DELAY, "hold": float("inf")}.get(label, 0.0)
            self.proxy.arm(action, self._matches(label), times=1 << 62, seconds=seconds)

    def end(self) -> None:
        self.proxy.disarm()
        with self._lock:
            self._history = None

    def _matches(self, label: str) -> Any:
        return lambda request: self._draw(request) == label

    def _draw(self, request: Request) -> str | None:
        """One draw per request (the proxy asks every armed fault about the same request)."""
        with self._lock:
            if request is not self._request:
                self._request, self._label = request, None
                if self._history is not None and self._rng.random() < self.rate:
                    [label] = self._rng.choices(self.labels, self.weights)
                    self._label = label
                    self._history.record("wire", "fault", detail=f"wire:{label}")
            return self._label


class Mixed:
    """One store, two ways in: every ``every``-th seed's contenders go through the fault proxy
    (``wired``), the others straight to the store (``plain``); so any ``every`` consecutive
    seeds include a wired history, and a seed replays the same way.

    Both backends' ``open_admin`` stores talk to the store directly: the harness's own requests
    (the truth of what the store applied, the sweeper, the server's expiry) meet no fault.
    """

    def __init__(self, plain: Any, wired: Any, every: int) -> None:
        self.plain, self.wired, self.every = plain, wired, every
        self.name: str = plain.name
        self.ttl: float = plain.ttl
        self.server_expiry: bool = plain.server_expiry
        self.current = plain

    def begin(self, sim: Sim, history: History, rng: random.Random, throttle_rate: float) -> None:
        wired = history.seed is not None and history.seed % self.every == 0
        self.current = self.wired if wired else self.plain
        if self.current is self.wired:
            history.record("wire", "wire")  # this history's contenders go through the proxy
        self.current.begin(sim, history, rng, throttle_rate)

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        store: BaseStore = self.current.open(clock, skew_allowance)
        return store

    def open_admin(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        opener = getattr(self.current, "open_admin", self.current.open)
        store: BaseStore = opener(clock, skew_allowance)
        return store

    def expire(self, store: BaseStore, name: str) -> None:
        self.current.expire(store, name)

    def end(self) -> None:
        try:
            self.current.end()
        finally:
            self.current = self.plain
