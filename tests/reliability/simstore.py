"""SimStore: a FaultyStore whose requests are in flight on the simulation's clock, and which
records what the store really applied, for the checkers of ``cloudlease.testing.history``.
Without a simulation (``sim=None``, in the multi-process runs) latency is a real sleep.

Each request waits a random latency on the way to the store and on the way back, so other
tasks act (and time passes) while it is in flight; a ``transient`` fault fails it before it
reaches the store and a ``lost`` one after the store applied it. The wrapper sees the inner
store's own answer, so it logs the truth: ``applied`` when an acquisition was written,
``read_back`` when an acquire's read-back saw that write, ``attempt`` with how the call ended.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from cloudlease._validation import Duration
from cloudlease.errors import LeaseHeld, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore
from cloudlease.testing.faults import FaultyStore
from cloudlease.testing.history import History
from tests.reliability.sim import Sim

T = TypeVar("T")


class SimStore(FaultyStore):
    """``inner`` behind a simulated network, recording the truth into ``history``."""

    def __init__(
        self,
        inner: BaseStore,
        sim: Sim | None,
        history: History,
        actor: str,
        *,
        attempts: itertools.count[int],
        latency: float = 0.0,
        lost_rate: float = 0.0,
        transient_rate: float = 0.0,
        rng: random.Random | None = None,
        on_applied: Callable[[str, str, Any], None] | None = None,
        pending: dict[object, float] | None = None,
        truth: BaseStore | None = None,
    ) -> None:
        super().__init__(inner, lost_rate=lost_rate, transient_rate=transient_rate, rng=rng)
        self.sim = sim
        self.history = history
        self.actor = actor
        self.max_latency = latency
        self.on_applied = on_applied  # (op, lease name, result) when the store applied a write
        self._attempts = attempts
        self._local = threading.local()
        self.pending = pending  # acquire requests on their way to the store: sent at (time)
        # Reads the record with no fault on the way (the harness's own store; else ``inner``).
        self.truth = truth or inner

    # -- the contract, observed -------------------------------------------------------------

    def acquire(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        return self._attempt(super().acquire, name, holder, ttl, metadata)

    def steal(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        return self._attempt(super().steal, name, holder, ttl, metadata)

    def _attempt(
        self,
        call: Callable[[str, str, Duration, Mapping[str, Any] | None], Lease],
        name: str,
        holder: str,
        ttl: Duration,
        metadata: Mapping[str, Any] | None,
    ) -> Lease:
        """One acquire or steal call, numbered, with how it ended (``attempt``)."""
        attempt = next(self._attempts)
        self._local.attempt = attempt
        outcome, token = "crashed", None
        try:
            lease = call(name, holder, ttl, metadata)
            outcome, token = "granted", lease.token
            return lease
        except LeaseHeld:
            outcome = "held"
            raise
        except StoreUnavailable as exc:
            outcome = "unknown" if exc.ambiguous else "unavailable"
            raise
        finally:
            self._local.attempt = None
            self._local.request = None
            self.history.record(self.actor, "attempt", attempt=attempt, detail=outcome, token=token)

    def renew(self, lease: Lease, ttl: Duration | None = None) -> Lease:
        renewed = super().renew(lease, ttl)
        self.history.record(
            self.actor,
            "renewed",
            token=renewed.token,
            deadline=renewed.deadline,
            lease=renewed.name,
        )
        return renewed

    # -- primitives in flight ---------------------------------------------------------------

    def _call(self, op: str, name: str | None, body: Callable[[], T]) -> T:
        if op != "acquire" or self.pending is None or self.sim is None:
            return self._send(op, name, body)
        key = object()
        self.pending[key] = self.sim.now()
        try:
            return self._send(op, name, body, key)
        finally:
            self.pending.pop(key, None)

    def _send(self, op: str, name: str | None, body: Callable[[], T], key: object = None) -> T:
        self._in_flight()
        kind = self._fault_for(op)
        if kind == "transient":
            self.history.record(self.actor, "fault", detail=f"{op}:transient")
            raise StoreUnavailable(
                f"injected transient fault before {op}", lease=name, store=self.url
            )
        result = body()
        if self.pending is not None:
            self.pending.pop(key, None)  # applied: no longer on its way
        self._in_flight()
        if kind == "lost":  # counted only when the request was applied
            self.history.record(self.actor, "fault", detail=f"{op}:lost")
            raise StoreUnavailable(
                f"injected lost response after {op}", lease=name, store=self.url, ambiguous=True
            )
        return result

    def _in_flight(self) -> None:
        """A request on the wire: others run meanwhile (real sleep without a simulation)."""
        latency = self.rng.uniform(0, self.max_latency) if self.max_latency > 0 else 0.0
        if self.sim is None:
            time.sleep(latency)
        elif latency > 0:
            self.sim.wait(None, latency)
        else:
            self.sim.yield_now()

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        self._local.request = request

        def apply() -> tuple[LeaseRecord, Any]:
            try:
                record, state = self.inner._acquire(request)
            except StoreUnavailable:
                # The store's own request failed: did it land anyway? Ask the store directly
                # (no faults, no latency) so the truth is known whatever the store reported.
                self._maybe_applied("acquire", request.name, request.ttl_ms)
                current = self.truth._get(request.name)
                if current and (current.holder, current.expires_at) == (
                    request.holder,
                    request.expires_at,
                ):
                    self._record_grant(request, current)
                raise
            self._record_grant(request, record)
            if self.on_applied is not None:
                self.on_applied("acquire", request.name, request.ttl_ms)
            return record, state

        return self._call("acquire", request.name, apply)

    def _maybe_applied(self, op: str, name: str, ttl_ms: int) -> None:
        """The store's request failed, but the server may have applied it (a reply lost at the
        wire, after the SDK's own retries): ``on_applied`` hears ``op?``."""
        if self.on_applied is not None:
            self.on_applied(f"{op}?", name, ttl_ms)

    def _record_grant(self, request: AcquireRequest, record: LeaseRecord) -> None:
        attempt = getattr(self._local, "attempt", None)
        self.history.record(
            request.holder,
            "applied",
            token=record.token,
            attempt=attempt,
            lease=request.name,
            detail="steal" if request.steals is not None else "",
        )

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        def apply() -> tuple[LeaseRecord, Any]:
            try:
                result = self.inner._renew(lease, now_ms, ttl_ms)
            except StoreUnavailable:
                self._maybe_applied("renew", lease.name, ttl_ms)
                raise
            self.history.record(lease.holder, "renew_applied", token=lease.token, lease=lease.name)
            if self.on_applied is not None:
                self.on_applied("renew", lease.name, ttl_ms)
            return result

        return self._call("renew", lease.name, apply)

    def _release(self, lease: Lease, now_ms: int) -> bool:
        def apply() -> bool:
            done = self.inner._release(lease, now_ms)
            if done and self.on_applied is not None:
                self.on_applied("release", lease.name, 0)
            return done

        return self._call("release", lease.name, apply)

    def _get(self, name: str) -> LeaseRecord | None:
        record = super()._get(name)
        request: AcquireRequest | None = getattr(self._local, "request", None)
        attempt = getattr(self._local, "attempt", None)
        if request is not None and attempt is not None:
            ours = (
                record is not None
                and record.holder == request.holder
                and record.expires_at == request.expires_at
            )
            self.history.record(request.holder, "read_back", attempt=attempt, ok=ours)
        return record
