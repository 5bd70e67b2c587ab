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

import os
from abc import ABC, abstractmethod
from time import monotonic, time_ns

from cloudlease._flows import Call, run
from cloudlease._validation import (
    check_holder,
    check_metadata,
    check_name,
    to_seconds,
)
from cloudlease.capabilities import Capabilities
from cloudlease.clock import SYSTEM_CLOCK, wall_us
from cloudlease.errors import LeaseHeld, LeaseLost, StealConflict, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest, can_acquire
from cloudlease.skew import ClockOffset

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from cloudlease._contract import LeaseStore, StoreSettings
    from cloudlease._flows import Flow, Step
    from cloudlease._validation import Duration
    from cloudlease.clock import Clock

__all__ = [
    "BaseStore",
    "Capabilities",
    "LeaseStore",
    "StoreCore",
    "StoreSettings",
    "default_holder_id",
    "is_async",
]

#: The default clock-skew bound A (seconds): how far any client's wall clock may be from the
#: store's. The token rule (docs/tokens.md) and the skew check rely on it wherever clients
#: write tokens from their clocks, whatever decides expiry.
DEFAULT_CLOCK_SKEW_BOUND = 1.0
#: How many names, holders and ttls a store remembers as checked (then it starts over).
_REMEMBERED = 256


class Wrapper:
    """A store over another one, ``inner`` (faults, the other side, a sync view): its URL,
    clock, allowances, capabilities and clock offset are the inner store's."""

    def __init__(self, inner: StoreSettings) -> None:
        super().__init__()
        self.inner = inner
        self.clock = inner.clock
        self.takeover_allowance = inner.takeover_allowance
        self.clock_skew_bound = inner.clock_skew_bound
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

    Two numbers about clocks, kept apart (docs/architecture.md, "Time"):

    - ``takeover_allowance`` (seconds): a contender takes a lease over only once
      ``now > expires_at + takeover_allowance`` by its own clock. It covers the distance
      between the clock that wrote ``expires_at`` and the one that reads it, so it defaults
      to 0 where one clock decides expiry (the store's: server-side expiry; the host's: a
      store shared within one host) and to ``clock_skew_bound`` elsewhere.
    - ``clock_skew_bound`` (seconds, A): how far any client's clock may be from the store's.
      Fencing tokens start from clients' clocks on every store, so the token rule (deletion
      only 2A after the last grant) and the skew check (refuse to acquire beyond A) use it.

    ``safety_margin`` (seconds, or None for the default rule of
    ``cloudlease.tenure.TimingPolicy``) is this store's default for how long before
    ``start + ttl`` a holder stops acting; the store itself never applies it.
    """

    capabilities: Capabilities = Capabilities()
    #: True on the async side (``AsyncBaseStore``): its methods are coroutines.
    is_async: bool = False

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        takeover_allowance: Duration | None = None,
        clock_skew_bound: Duration = DEFAULT_CLOCK_SKEW_BOUND,
        safety_margin: Duration | None = None,
    ) -> None:
        self.clock: Clock = clock if clock is not None else SYSTEM_CLOCK
        where = type(self).__name__  # the URL is not known yet
        self.clock_skew_bound = to_seconds(
            clock_skew_bound,
            what="clock_skew_bound",
            store=where,
            hint="it bounds how far clients' clocks may be from the store's (default 1 s); "
            "keep it above what your hosts' time sync guarantees",
        )
        if takeover_allowance is None:
            one_clock = self.capabilities.one_clock_decides_expiry
            self.takeover_allowance = 0.0 if one_clock else self.clock_skew_bound
        else:
            self.takeover_allowance = to_seconds(
                takeover_allowance,
                what="takeover_allowance",
                store=where,
                allow_zero=True,
                hint="it is how long after a lease's expiry others may take it over (None: "
                "0 where one clock decides expiry, else clock_skew_bound)",
            )
        self.safety_margin = (
            None
            if safety_margin is None
            else to_seconds(safety_margin, what="safety_margin", store=where, allow_zero=True)
        )
        #: What the store's replies say of this client's clock (stores that stamp replies
        #: feed it; memory and SQLite share the host's clock and never do).
        self.clock_offset = ClockOffset()
        self._checked_names: set[str] = set()
        self._checked_holders: set[str] = set()
        self._checked_ttls: dict[float, tuple[Capabilities, tuple[float, int]]] = {}

    @property
    def takeover_allowance(self) -> float:
        """Seconds after a lease's expiry before others may take it over (see the class)."""
        return self._takeover_allowance

    @takeover_allowance.setter
    def takeover_allowance(self, seconds: float) -> None:
        self._takeover_allowance = seconds
        self._allowance_ms = round(seconds * 1000)  # what every acquire compares with

    # -- identity ---------------------------------------------------------------------------

    @property
    @abstractmethod
    def url(self) -> str:
        """The store's URL, as shown in errors and by ``cloudlease status``."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # -- the contract, as flows over the primitives -----------------------------------------

    # Each operation is a flow: a request built from checked input, the primitive (yielded as
    # a Call), and, when the outcome is unknown, a read back and a decision (the ``_unknown``
    # flows). ``BaseStore`` runs the same pieces inline (its methods are the hot path of the
    # sync stores); ``AsyncBaseStore`` runs the flows.

    def _acquire_flow(self, request: AcquireRequest, start: float) -> Flow[Lease]:
        """Take the lease in one atomic conditional write, or raise LeaseHeld with the record.

        Succeeds when the record is absent, released, expired beyond the takeover allowance, or
        already held by ``holder`` (re-entry), or (a steal) still names the (holder, token)
        ``steals``. Every success writes a greater token. ``request`` and ``start``: from
        ``_acquire_request``.
        """
        try:
            record, state = yield Call("_acquire", (request,))
        except StoreUnavailable as exc:
            record, state = yield from self._acquire_unknown(request, exc)
        return self._lease(record, start, request.ttl_ms / 1000, state)

    def _acquire_request(
        self,
        name: str,
        holder: str,
        ttl: object,
        metadata: object,
        steals: tuple[str, int] | None = None,
    ) -> tuple[AcquireRequest, float]:
        """The attempt from checked input, and the monotonic instant it is sent."""
        ttl_ms, checked_metadata = self._check_acquire(name, holder, ttl, metadata)
        start, now_ms, now_us = self._now()
        request = AcquireRequest(
            name, holder, ttl_ms, now_ms, self._allowance_ms, checked_metadata, now_us, steals
        )
        return request, start

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
        request, start = self._acquire_request(name, holder, ttl, metadata, steals)
        try:
            lease: Lease = yield from self._acquire_flow(request, start)
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

    def _acquire_unknown(
        self, request: AcquireRequest, exc: StoreUnavailable
    ) -> Flow[tuple[LeaseRecord, Any]]:
        """The acquire failed: re-raise, unless it may have applied; then read back and decide."""
        if not exc.ambiguous:
            raise exc
        current = yield from self._read_back(request.name, exc)
        return self._resolve_acquire(request, current, exc)

    def _renew_flow(self, lease: Lease, ttl: object) -> Flow[Lease]:
        """Extend ``lease`` (same token); raise LeaseLost if the record no longer names it."""
        seconds, ttl_ms = self._checked_ttl(lease.name, lease.ttl if ttl is None else ttl)
        start, now_ms, _ = self._now()
        try:
            record, state = yield Call("_renew", (lease, now_ms, ttl_ms))
        except StoreUnavailable as exc:
            record, state = yield from self._renew_unknown(lease, now_ms + ttl_ms, exc)
        return self._lease(record, start, seconds, state)

    def _renew_unknown(
        self, lease: Lease, expires_at: int, exc: StoreUnavailable
    ) -> Flow[tuple[LeaseRecord, Any]]:
        """The renewal failed: re-raise, unless it may have applied; then read back: LeaseLost
        if the record no longer names us, the renewal if it landed, else retry."""
        if not exc.ambiguous:
            raise exc
        current = yield from self._read_back(lease.name, exc)
        if not (current and current.holder == lease.holder and current.token == lease.token):
            raise self._lost(lease, current) from None
        if current.expires_at != expires_at:
            raise StoreUnavailable(
                f"renewal of token {lease.token} did not apply ({exc.detail}); the lease is "
                "still ours until its deadline: retry the renewal",
                lease=lease.name,
                store=self.url,
            ) from exc
        return current, self._state_after_ambiguous(lease.store_state, current)

    def _release_flow(self, lease: Lease) -> Flow[bool]:
        """Clear the holder, keep the token. Idempotent: False if the lease was not ours."""
        now_ms = self._now()[1]
        try:
            released: bool = yield Call("_release", (lease, now_ms))
        except StoreUnavailable as exc:
            released = yield from self._release_unknown(lease, exc)
        return released

    def _release_unknown(self, lease: Lease, exc: StoreUnavailable) -> Flow[bool]:
        """The release failed: re-raise, unless it may have applied; then read back: done if
        the record no longer names us, else retry."""
        if not exc.ambiguous:
            raise exc
        current = yield from self._read_back(lease.name, exc)
        if current and current.holder == lease.holder and current.token == lease.token:
            raise StoreUnavailable(
                f"release of token {lease.token} did not apply ({exc.detail}); retry it, or "
                "let the lease expire",
                lease=lease.name,
                store=self.url,
            ) from exc
        return True

    def _checked_name(self, name: str) -> str:
        """``name`` if it is a valid lease name (checked once per name), else ConfigError."""
        if name not in self._checked_names:
            self._remember_checked(self._checked_names, check_name(name, store=self.url))
        return name

    def _get_step(self, name: str) -> Call:
        """The read of ``get(name)``, after checking the name."""
        return Call("_get", (self._checked_name(name),))

    def _force_release_step(self, name: str) -> Call:
        """Clear whoever holds ``name`` (an operator's tool for a stuck lease); keep the token.

        The call returns the record as it was before, or None if there was none.
        """
        return Call("_force_release", (check_name(name, store=self.url), self.clock.wall_ms()))

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        """Store state for a grant learned by reading back (default: the previous state)."""
        return previous_state

    # -- helpers ----------------------------------------------------------------------------

    # Input is checked before every request, and each value once: a lease's name, holder and
    # ttl repeat on every renewal and acquisition, so what passed is remembered (a few dozen
    # values at most) and found again with one lookup.

    def _now(self) -> tuple[float, int, int]:
        """The monotonic instant a request is sent, then the wall clock in epoch ms and µs
        (one reading of each on the system clock)."""
        clock = self.clock
        if clock is SYSTEM_CLOCK:
            start = monotonic()
            ns = time_ns()
            return start, ns // 1_000_000, ns // 1000
        return clock.monotonic(), clock.wall_ms(), wall_us(clock)

    def _checked_ttl(self, name: str, ttl: object) -> tuple[float, int]:
        """The granted ttl for ``ttl`` in seconds and in ms (at least 1)."""
        if type(ttl) is float or type(ttl) is int:
            seen = self._checked_ttls.get(ttl)
            if seen is not None and seen[0] is self.capabilities:
                return seen[1]
        seconds = self.capabilities.check_ttl(ttl, lease=name, store=self.url)
        granted = (seconds, max(1, round(seconds * 1000)))
        if type(ttl) is float or type(ttl) is int:
            if len(self._checked_ttls) >= _REMEMBERED:
                self._checked_ttls.clear()
            self._checked_ttls[ttl] = (self.capabilities, granted)
        return granted

    def _check_acquire(
        self, name: str, holder: str, ttl: object, metadata: object
    ) -> tuple[int, dict[str, Any]]:
        """The granted ttl in ms and the metadata to write, or ConfigError."""
        if name not in self._checked_names:
            self._remember_checked(self._checked_names, check_name(name, store=self.url))
        if holder not in self._checked_holders:
            self._remember_checked(
                self._checked_holders, check_holder(holder, lease=name, store=self.url)
            )
        ttl_ms = self._checked_ttl(name, ttl)[1]
        if metadata is None:
            return ttl_ms, {}
        return ttl_ms, check_metadata(metadata, lease=name, store=self.url)

    @staticmethod
    def _remember_checked(checked: set[str], value: str) -> None:
        if len(checked) >= _REMEMBERED:
            checked.clear()
        checked.add(value)

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
        r = record  # positional: this runs on every grant
        return Lease(
            r.name, r.holder, r.token, r.expires_at, start + ttl, ttl, start, r, self.clock, state
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
    """The sync side of a store: the contract's steps run on the calling thread, over the
    primitives each backend implements (one request each). The happy path calls the primitive
    directly; an unknown outcome is resolved by ``StoreCore``'s flows, the async side's own."""

    # -- the contract -----------------------------------------------------------------------

    def acquire(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        """Take the lease in one atomic conditional write, or raise LeaseHeld with the record.

        Succeeds when the record is absent, released, expired beyond the takeover allowance, or
        already held by ``holder`` (re-entry). Every success writes a greater token.
        """
        request, start = self._acquire_request(name, holder, ttl, metadata)
        try:
            record, state = self._acquire(request)
        except StoreUnavailable as exc:
            record, state = run(self._acquire_unknown(request, exc), self._perform)
        return self._lease(record, start, request.ttl_ms / 1000, state)

    def steal(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease:
        """Take the lease at once, from a live holder too, with a greater token; StealConflict
        if it changed between this call's read and its write (``StoreCore._steal_flow``)."""
        return run(self._steal_flow(name, holder, ttl, metadata), self._perform)

    def renew(self, lease: Lease, ttl: Duration | None = None) -> Lease:
        """Extend ``lease`` (same token); raise LeaseLost if the record no longer names it."""
        seconds, ttl_ms = self._checked_ttl(lease.name, lease.ttl if ttl is None else ttl)
        start, now_ms, _ = self._now()
        try:
            record, state = self._renew(lease, now_ms, ttl_ms)
        except StoreUnavailable as exc:
            unknown = self._renew_unknown(lease, now_ms + ttl_ms, exc)
            record, state = run(unknown, self._perform)
        return self._lease(record, start, seconds, state)

    def release(self, lease: Lease) -> bool:
        """Clear the holder, keep the token. Idempotent: False if the lease was not ours."""
        now_ms = self._now()[1]
        try:
            return self._release(lease, now_ms)
        except StoreUnavailable as exc:
            return run(self._release_unknown(lease, exc), self._perform)

    def get(self, name: str) -> LeaseRecord | None:
        """A strongly consistent read of the record, or None if there is none."""
        return self._get(self._checked_name(name))

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

        Tokens stay monotonic afterwards when the record was last granted at least twice the
        clock-skew bound earlier (docs/tokens.md; ``cloudlease.purge`` checks it).
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


if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """``LeaseStore`` and ``StoreSettings``, defined with ``typing``: loaded on first use."""
        if name in ("LeaseStore", "StoreSettings"):
            from cloudlease import _contract

            return getattr(_contract, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
