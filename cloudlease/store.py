"""The store contract: one interface, every backend.

A store does conditional writes of one record per lease name and declares its limits in
``Capabilities``; all timing (margins, deadlines, renewal, stepping down, retries) lives above
it, in ``cloudlease.tenure``. ``StoreCore`` checks input before any request, stamps each grant
with the monotonic instant its request was sent, and resolves ambiguous outcomes by reading the
record back, so each backend writes only its primitives. It does so once, as flows
(``cloudlease._flows``): ``BaseStore`` drives them from sync code, ``AsyncBaseStore``
(``cloudlease.async_store``) from coroutines.
"""

from __future__ import annotations

import math
import os
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cloudlease._flows import Call, Flow, Step, run
from cloudlease._validation import (
    Duration,
    check_holder,
    check_metadata,
    check_name,
    check_ttl,
    to_seconds,
)
from cloudlease.clock import SYSTEM_CLOCK, Clock, wall_us
from cloudlease.errors import LeaseHeld, LeaseLost, StealConflict, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest, can_acquire
from cloudlease.skew import ClockOffset


@dataclass(frozen=True)
class Capabilities:
    """What a store declares about itself (shown by docs and checked by the conformance suite).

    ``min_ttl``/``max_ttl`` bound the ttl a caller may ask for; ``longest_grant`` and
    ``whole_seconds`` say how the store grants an accepted ttl (Azure: whole seconds, at most
    60 s per blob lease); ``ttl_rule`` explains the bounds in error messages.
    ``round_trips`` counts requests per operation on the happy path.
    ``shared_across`` is ``"process"``, ``"host"`` or ``"network"``: who can contend.
    """

    server_side_expiry: bool = False
    min_ttl: float = 0.001
    max_ttl: float | None = None
    longest_grant: float | None = None
    whole_seconds: bool = False
    ttl_rule: str = ""
    fencing: bool = True
    consistency: str = "strong"
    shared_across: str = "network"
    round_trips: Mapping[str, int] = field(
        default_factory=lambda: {"acquire": 1, "renew": 1, "release": 1, "get": 1}
    )

    def granted_ttl(self, seconds: float) -> float:
        """The ttl this store grants when asked for ``seconds`` (already within the bounds)."""
        if self.whole_seconds:
            seconds = float(math.floor(seconds))
        if self.longest_grant is not None:
            seconds = min(seconds, self.longest_grant)
        return seconds

    def check_ttl(self, ttl: object, *, lease: str, store: str) -> float:
        """The granted ttl for ``ttl``, or ConfigError naming the bound it breaks."""
        seconds = check_ttl(
            ttl,
            lease=lease,
            store=store,
            min_ttl=self.min_ttl,
            max_ttl=self.max_ttl,
            rule=self.ttl_rule,
        )
        return self.granted_ttl(seconds)


@runtime_checkable
class StoreSettings(Protocol):
    """What the lifecycle reads of a store, sync or async: its clock, limits and allowances."""

    clock: Clock
    capabilities: Capabilities
    skew_allowance: float
    safety_margin: float | None
    clock_offset: ClockOffset

    @property
    def url(self) -> str: ...


@runtime_checkable
class LeaseStore(StoreSettings, Protocol):
    """What the layers above (hold, LeaderElector, runner, CLI) need from a store."""

    def acquire(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease: ...

    def steal(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease: ...

    def renew(self, lease: Lease, ttl: Duration | None = None) -> Lease: ...

    def release(self, lease: Lease) -> bool: ...

    def get(self, name: str) -> LeaseRecord | None: ...

    def records(self) -> list[LeaseRecord]: ...

    def force_release(self, name: str) -> LeaseRecord | None: ...

    def init(self) -> None: ...

    def close(self) -> None: ...


class Wrapper:
    """A store over another one, ``inner`` (faults, the other side, a sync view): its URL,
    clock, allowances, capabilities and clock offset are the inner store's."""

    def __init__(self, inner: StoreSettings) -> None:
        super().__init__()
        self.inner = inner
        self.clock = inner.clock
        self.skew_allowance = inner.skew_allowance
        self.safety_margin = inner.safety_margin
        self.capabilities = inner.capabilities
        self.clock_offset = inner.clock_offset

    @property
    def url(self) -> str:
        return self.inner.url


def is_async(store: object) -> bool:
    """True for the async side of a store (``open_async_store``): its methods are coroutines."""
    return bool(getattr(store, "is_async", False))


def default_holder_id() -> str:
    """A holder id unique to this process instance: ``host:pid:random``."""
    host = os.uname().nodename.split(".")[0][:60] or "host"
    return f"{host}:{os.getpid()}:{os.urandom(6).hex()}"


class StoreCore(ABC):
    """What the sync and async sides of every store share: settings, input checks, and the
    flows (``cloudlease._flows``) that build each request, resolve ambiguous outcomes by
    reading back, and build the Lease. ``BaseStore`` drives them from sync code,
    ``cloudlease.async_store.AsyncBaseStore`` from coroutines.

    ``skew_allowance`` (seconds) is how far apart contenders' wall clocks may be: a lease is
    taken over only once ``now > expires_at + skew_allowance``. ``safety_margin`` (seconds, or
    None for the default rule of ``cloudlease.tenure.TimingPolicy``) is this store's default for
    how long before ``start + ttl`` a holder stops acting; the store itself never applies it.
    """

    capabilities: Capabilities = Capabilities()
    #: True on the async side (``AsyncBaseStore``): its methods are coroutines.
    is_async: bool = False

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        skew_allowance: Duration = 1.0,
        safety_margin: Duration | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        self.skew_allowance = to_seconds(skew_allowance, what="skew_allowance", allow_zero=True)
        self.safety_margin = (
            None
            if safety_margin is None
            else to_seconds(safety_margin, what="safety_margin", allow_zero=True)
        )
        #: What the store's replies say of this client's clock (stores that stamp replies
        #: feed it; memory and SQLite share the host's clock and never do).
        self.clock_offset = ClockOffset()

    # -- identity ---------------------------------------------------------------------------

    @property
    @abstractmethod
    def url(self) -> str:
        """The store's URL, as shown in errors and by ``cloudlease status``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- the contract, as flows over the primitives -----------------------------------------

    def _acquire_flow(
        self,
        name: str,
        holder: str,
        ttl: object,
        metadata: object,
        steals: tuple[str, int] | None = None,
    ) -> Flow[Lease]:
        """Take the lease in one atomic conditional write, or raise LeaseHeld with the record.

        Succeeds when the record is absent, released, expired beyond the skew allowance, or
        already held by ``holder`` (re-entry), or (a steal) still names the (holder, token)
        ``steals``. Every success writes a greater token.
        """
        seconds, checked_metadata = self._check_acquire(name, holder, ttl, metadata)
        start = self.clock.monotonic()
        request = AcquireRequest(
            name=name,
            holder=holder,
            ttl_ms=max(1, round(seconds * 1000)),
            now_ms=self.clock.wall_ms(),
            now_us=wall_us(self.clock),
            skew_ms=round(self.skew_allowance * 1000),
            metadata=checked_metadata,
            steals=steals,
        )
        try:
            record, state = yield Call("_acquire", (request,))
        except StoreUnavailable as exc:
            if not exc.ambiguous:
                raise
            current = yield from self._read_back(request.name, exc)
            record, state = self._resolve_acquire(request, current, exc)
        return self._lease(record, start, request.ttl_ms / 1000, state)

    def _steal_flow(self, name: str, holder: str, ttl: object, metadata: object) -> Flow[Lease]:
        """Take the lease at once, from a live holder too, with a greater token.

        Reads the record, then acquires conditionally on the holder and token it read (one
        conditional write on most stores): the old holder's renewals and fenced writes are
        refused from then on. A free lease is simply acquired. StealConflict (nothing written)
        when the record changed between the read and the write.
        """
        self._check_acquire(name, holder, ttl, metadata)  # bad input: before any request
        seen: LeaseRecord | None = yield Call("_get", (name,))
        steals = None if seen is None or seen.holder in ("", holder) else (seen.holder, seen.token)
        try:
            lease: Lease = yield from self._acquire_flow(name, holder, ttl, metadata, steals)
        except LeaseHeld as exc:
            found = exc.record
            raise StealConflict(
                "the lease changed while it was being stolen (read: "
                + (f"{seen.holder!r}, token {seen.token}" if seen else "no record")
                + "; now: "
                + (f"{found.holder!r}, token {found.token}" if found else "unknown")
                + "); nothing was written: look again (cloudlease status) and retry",
                lease=name,
                store=self.url,
                record=found,
            ) from None
        return lease

    def _renew_flow(self, lease: Lease, ttl: object) -> Flow[Lease]:
        """Extend ``lease`` (same token); raise LeaseLost if the record no longer names it."""
        seconds = self._check_ttl(lease.name, lease.ttl if ttl is None else ttl)
        start = self.clock.monotonic()
        now_ms = self.clock.wall_ms()
        ttl_ms = round(seconds * 1000)
        try:
            record, state = yield Call("_renew", (lease, now_ms, ttl_ms))
        except StoreUnavailable as exc:
            if not exc.ambiguous:
                raise
            current = yield from self._read_back(lease.name, exc)
            if not (current and current.holder == lease.holder and current.token == lease.token):
                raise self._lost(lease, current) from None
            if current.expires_at != now_ms + ttl_ms:
                raise StoreUnavailable(
                    f"renewal of token {lease.token} did not apply ({exc.detail}); the lease is "
                    "still ours until its deadline: retry the renewal",
                    lease=lease.name,
                    store=self.url,
                ) from exc
            record, state = current, self._state_after_ambiguous(lease.store_state, current)
        return self._lease(record, start, seconds, state)

    def _release_flow(self, lease: Lease) -> Flow[bool]:
        """Clear the holder, keep the token. Idempotent: False if the lease was not ours."""
        now_ms = self.clock.wall_ms()
        try:
            released: bool = yield Call("_release", (lease, now_ms))
        except StoreUnavailable as exc:
            if not exc.ambiguous:
                raise
            current = yield from self._read_back(lease.name, exc)
            if current and current.holder == lease.holder and current.token == lease.token:
                raise StoreUnavailable(
                    f"release of token {lease.token} did not apply ({exc.detail}); retry it, or "
                    "let the lease expire",
                    lease=lease.name,
                    store=self.url,
                ) from exc
            return True
        return released

    def _get_step(self, name: str) -> Call:
        """The read of ``get(name)``, after checking the name."""
        return Call("_get", (check_name(name, store=self.url),))

    def _force_release_step(self, name: str) -> Call:
        """Clear whoever holds ``name`` (an operator's tool for a stuck lease); keep the token.

        The call returns the record as it was before, or None if there was none.
        """
        return Call("_force_release", (check_name(name, store=self.url), self.clock.wall_ms()))

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        """Store state for a grant learned by reading back (default: the previous state)."""
        return previous_state

    # -- helpers ----------------------------------------------------------------------------

    def _check_ttl(self, name: str, ttl: object) -> float:
        return self.capabilities.check_ttl(ttl, lease=name, store=self.url)

    def _check_acquire(
        self, name: str, holder: str, ttl: object, metadata: object
    ) -> tuple[float, dict[str, Any]]:
        check_name(name, store=self.url)
        check_holder(holder, lease=name, store=self.url)
        seconds = self._check_ttl(name, ttl)
        return seconds, check_metadata(metadata, lease=name, store=self.url)

    def _resolve_acquire(
        self, request: AcquireRequest, current: LeaseRecord | None, exc: StoreUnavailable
    ) -> tuple[LeaseRecord, Any]:
        """The acquire's response was lost and ``current`` was read back: did our write land?"""
        if (
            current is not None
            and current.holder == request.holder
            and current.expires_at == request.expires_at
        ):
            return current, self._state_after_ambiguous(None, current)
        if current is not None and not can_acquire(current, request):
            raise self._held(request, current) from exc
        raise StoreUnavailable(
            f"the acquire did not apply ({exc.detail}); retry it (re-entry makes that safe)",
            lease=request.name,
            store=self.url,
        ) from exc

    def _read_back(self, name: str, cause: StoreUnavailable) -> Flow[LeaseRecord | None]:
        try:
            current: LeaseRecord | None = yield Call("_get", (name,))
        except StoreUnavailable as exc:
            raise StoreUnavailable(
                f"the outcome is unknown: the request failed ({cause.detail}) and reading the "
                f"record back failed too ({exc.detail}); retry when the store is reachable",
                lease=name,
                store=self.url,
                ambiguous=True,
            ) from exc
        return current

    def _lease(self, record: LeaseRecord, start: float, ttl: float, state: Any) -> Lease:
        """The grant, counted from ``start`` (sent) with no margin: a Tenure applies its own."""
        return Lease(
            name=record.name,
            holder=record.holder,
            token=record.token,
            expires_at=record.expires_at,
            deadline=start + ttl,
            ttl=ttl,
            started=start,
            record=record,
            clock=self.clock,
            store_state=state,
        )

    def _held(self, request: AcquireRequest, current: LeaseRecord) -> LeaseHeld:
        """The LeaseHeld error for a failed acquire that observed ``current``."""
        return LeaseHeld(
            f"held by {current.holder!r} (token {current.token}) until epoch ms "
            f"{current.expires_at}; wait for it (hold(..., wait=...)) or skip this run",
            lease=request.name,
            store=self.url,
            record=current,
        )

    def _lost(self, lease: Lease, current: LeaseRecord | None) -> LeaseLost:
        """The LeaseLost error for a renew that found ``current`` instead of our lease."""
        if current is None:
            what = "the record is gone"
        elif current.holder == "":
            what = (
                "the lease was released"
                if current.token <= lease.token
                else f"acquired anew (token {current.token}) and released since"
            )
        else:
            what = f"now held by {current.holder!r} with token {current.token}"
        return LeaseLost(
            f"token {lease.token} is no longer valid: {what}; stop acting and acquire again",
            lease=lease.name,
            store=self.url,
        )


class BaseStore(StoreCore):
    """The sync side of a store: the contract's flows driven on the calling thread, over the
    primitives each backend implements (one request each)."""

    # -- the contract -----------------------------------------------------------------------

    def acquire(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        """Take the lease in one atomic conditional write, or raise LeaseHeld with the record.

        Succeeds when the record is absent, released, expired beyond the skew allowance, or
        already held by ``holder`` (re-entry). Every success writes a greater token.
        """
        return run(self._acquire_flow(name, holder, ttl, metadata), self._perform)

    def steal(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        """Take the lease at once, from a live holder too, with a greater token; StealConflict
        if it changed between this call's read and its write (``StoreCore._steal_flow``)."""
        return run(self._steal_flow(name, holder, ttl, metadata), self._perform)

    def renew(self, lease: Lease, ttl: Duration | None = None) -> Lease:
        """Extend ``lease`` (same token); raise LeaseLost if the record no longer names it."""
        return run(self._renew_flow(lease, ttl), self._perform)

    def release(self, lease: Lease) -> bool:
        """Clear the holder, keep the token. Idempotent: False if the lease was not ours."""
        return run(self._release_flow(lease), self._perform)

    def get(self, name: str) -> LeaseRecord | None:
        """A strongly consistent read of the record, or None if there is none."""
        record: LeaseRecord | None = self._perform(self._get_step(name))
        return record

    def records(self) -> list[LeaseRecord]:
        """Every lease record in the store, sorted by name."""
        return sorted(self._list(), key=lambda record: record.name)

    def force_release(self, name: str) -> LeaseRecord | None:
        """Clear whoever holds ``name`` (an operator's tool for a stuck lease); keep the token.

        Returns the record as it was before, or None if there was none.
        """
        record: LeaseRecord | None = self._perform(self._force_release_step(name))
        return record

    def delete_record(self, name: str) -> None:
        """Delete the record outright, as a TTL sweep or an operator would.

        Tokens stay monotonic afterwards when the record was last granted at least twice the skew
        allowance earlier (docs/tokens.md; ``cloudlease.purge`` checks it).
        """
        raise NotImplementedError(f"{type(self).__name__} cannot delete records")

    def init(self) -> None:
        """Create what the store needs (table, container, file); idempotent."""

    def close(self) -> None:
        """Release client resources; the store must not be used afterwards."""

    def _perform(self, step: Step) -> Any:
        assert isinstance(step, Call), step  # store flows only call primitives
        return getattr(self, step.method)(*step.args)

    # -- primitives each backend implements ------------------------------------------------

    @abstractmethod
    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        """One atomic conditional write. Return (record written, store state).

        Raise LeaseHeld carrying the current record when the condition fails, and
        StoreUnavailable(ambiguous=True) when the write may have been applied.
        """

    @abstractmethod
    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        """Conditional on holder and token; raise LeaseLost when they no longer match."""

    @abstractmethod
    def _release(self, lease: Lease, now_ms: int) -> bool:
        """Conditional on holder and token: clear the holder, keep the token."""

    @abstractmethod
    def _get(self, name: str) -> LeaseRecord | None:
        """A strongly consistent read."""

    @abstractmethod
    def _list(self) -> list[LeaseRecord]:
        """Every lease record."""

    @abstractmethod
    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        """Clear the holder whoever it is; keep the token."""
