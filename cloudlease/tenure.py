"""The lease lifecycle, written once: ``Tenure`` (one life) on a ``TimingPolicy`` (its numbers,
``cloudlease.timing``).

``TimingPolicy`` is built once from the ttl, the renewal and retry periods, the jitter, the
safety margin, an optional hard cap and the store's declared limits; it checks them with one
message per rule and computes margins, deadlines and campaign pauses. ``Tenure`` is one held
lease: acquire (or wait for it), renew, step down before the local deadline, release or mark
its tick done. ``hold()``, ``@single_runner``, ``LeaderElector``, the adapters and
``cloudlease run`` are thin users: no other core module calls a store's acquire, renew or
release.

A Tenure's decisions (``next_wakeup``, ``renewal_ttl``, ``on_renewed``, ``on_renew_failed``)
are apart from the waiting, and its requests are flows (``cloudlease._flows``) written once in
``TenureCore``: ``Tenure`` drives them on threads (``cloudlease.scheduler``), ``AsyncTenure``
(``cloudlease.async_tenure``) on an event loop.
"""

from __future__ import annotations

import math
import threading

from cloudlease import events
from cloudlease._exit import AT_EXIT, release_on_sigterm
from cloudlease._flows import Call, Pause, run
from cloudlease._log import log
from cloudlease._validation import check_holder, check_name, to_seconds
from cloudlease.errors import ClockSkewed, ConfigError, LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.lease import Lease
from cloudlease.records import LeaseRecord
from cloudlease.scheduler import schedule
from cloudlease.store import default_holder_id
from cloudlease.timing import FOREVER, WARN_EVERY, TimingPolicy

TYPE_CHECKING = False
if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Mapping
    from typing import Any

    from cloudlease._flows import Flow, Step
    from cloudlease._validation import Duration
    from cloudlease.scheduler import Registration
    from cloudlease.store import LeaseStore, StoreSettings


RENEWAL_MODES = ("background", "manual")


def first_slot(holder: str, slots: int) -> int:
    """The slot a holder tries first: a hash of its id (FNV-1a, stable across processes,
    unlike ``hash()``), so contenders spread over the slots and a holder that comes back under
    the same id starts where it was."""
    value = 0x811C9DC5
    for byte in holder.encode():
        value = ((value ^ byte) * 0x01000193) & 0xFFFFFFFF
    return value % slots


class TenureCore:
    """One held lease's life, without its I/O: the handle, the decisions, and the flows
    (``cloudlease._flows``) that ``Tenure`` drives on threads and ``AsyncTenure``
    (``cloudlease.async_tenure``) on an event loop.

    ``lost`` is an Event set when the tenure ends (lost, stepped down, released or done);
    ``ensure()`` raises LeaseLost from then on, and ``on_lost(tenure)`` is called once when
    the lease was lost rather than let go. With ``slots=N`` the tenure holds one slot of the
    semaphore ``name`` (``_slot_flow`` chooses it; ``slot`` and ``lease_name`` say which).
    """

    def __init__(
        self,
        store: StoreSettings,
        name: str,
        *,
        policy: TimingPolicy,
        holder: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        wait: Duration | None = None,
        on_lost: Callable[[Any], None] | None = None,
        rng: random.Random | None = None,
        release_at_exit: bool = True,
        renewal: str = "background",
        slots: int = 1,
    ) -> None:
        if renewal not in RENEWAL_MODES:
            raise ConfigError(
                f"renewal must be one of {', '.join(RENEWAL_MODES)}, got {renewal!r}: "
                "'background' renews from the renewal scheduler, 'manual' only when you call "
                "renew()/extend()",
                lease=name,
                store=store.url,
            )
        self.renewal = renewal
        self.store = store
        self.name = check_name(name, store=store.url)
        if type(slots) is not int or slots != 1:  # a semaphore (the naming rule loads here)
            from cloudlease._slots import check_slots

            slots = check_slots(slots, lease=name, store=store.url)
        self.slots = slots
        self._slot: int | None = None  # the slot held (a semaphore's; 0 for a plain lease)
        self._record = name  # the record tried or held: ``name``, or the slot's record
        self._resume: int | None = None  # a slot whose acquire's outcome is unknown
        self.holder = check_holder(
            holder if holder is not None else default_holder_id(), lease=name, store=store.url
        )
        self.policy = policy
        self.metadata = metadata
        self.wait: float | None = None
        if wait is not None:
            self.wait = to_seconds(
                wait, what="wait", lease=name, allow_zero=True, allow_infinite=True
            )
        self.on_lost = on_lost
        self.lost = threading.Event()
        self._rng = rng  # made on first use (``random`` stays out of the import)
        self._lease: Lease | None = None
        self._reason: str | None = None
        self._next_renewal = math.inf
        self._first_attempt: float | None = None  # monotonic; the wait ends at the grant
        self._renew_failures = 0  # failed renewals since the last grant (for renewed_late)
        self._not_after = (
            None if policy.max_duration is None else store.clock.monotonic() + policy.max_duration
        )
        self.release_at_exit = release_at_exit
        self._init_side()

    def _init_side(self) -> None:
        """Set up what the side that drives the flows needs (locks, a renewer)."""

    # -- the handle -------------------------------------------------------------------------

    @property
    def lease(self) -> Lease:
        """The latest grant (renewals replace it)."""
        if self._lease is None:
            raise LeaseLost("the lease has not been acquired yet", lease=self.name)
        return self._lease

    @property
    def slot(self) -> int | None:
        """The slot held, 0..slots-1 (0 for a plain lease); None before the first grant."""
        return None if self._lease is None else (self._slot or 0)

    @property
    def lease_name(self) -> str:
        """The name of the record held: ``name``, or for a semaphore its slot's record
        (``NAME.slot-K``, ``cloudlease._slots``)."""
        return self.lease.name

    @property
    def token(self) -> int:
        """The fencing token: pass it with every write that matters."""
        return self.lease.token

    @property
    def reason(self) -> str | None:
        """Why the tenure ended, or None while the lease is held."""
        return self._reason

    def remaining(self) -> float:
        """Seconds left before the local deadline (0 once over)."""
        return 0.0 if self.lost.is_set() or self._lease is None else self._lease.remaining()

    def is_valid(self, min_remaining: float = 0.0) -> bool:
        return (
            not self.lost.is_set()
            and self._lease is not None
            and self._lease.is_valid(min_remaining)
        )

    def ensure(self, min_remaining: float = 0.0) -> None:
        """Raise LeaseLost unless the lease is held with ``min_remaining`` seconds to spare."""
        if self.lost.is_set():
            raise LeaseLost(f"{self._reason}; stop acting on token {self.token}", lease=self.name)
        self.lease.ensure(min_remaining)

    def __repr__(self) -> str:
        state = f"over: {self._reason}" if self.lost.is_set() else "held"
        token = self._lease.token if self._lease else None
        slot = f", slot={self._slot}" if self.slots > 1 else ""
        return f"Tenure({self.name!r}{slot}, token={token}, {state})"

    # -- handed across invocations ---------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """This held lease as JSON, for another process to renew or release
        (``Tenure.from_json``). Call ``abandon("handed off")`` here if this process stops
        caring for it: it is then neither renewed nor released at exit."""
        from cloudlease import handoff  # only where leases are handed on

        lease = self.lease
        deadline_ms = self.store.clock.wall_ms() + round(self.remaining() * 1000)
        return handoff.encode(
            handoff.Handle(
                self.store.url,
                lease.name,
                lease.holder,
                lease.token,
                lease.ttl,
                deadline_ms,
                lease.record,
            )
        )

    # -- acquiring --------------------------------------------------------------------------

    def _acquire_flow(self, give_up_if: Callable[[LeaseRecord], bool] | None) -> Flow[None]:
        """Acquire, retrying while held elsewhere or unavailable, up to ``wait`` seconds.

        No ``wait`` (or 0) fails fast with LeaseHeld, and so does a refusal whose record
        ``give_up_if`` accepts (e.g. a tick already done).
        """
        clock = self.store.clock
        give_up = clock.monotonic() + (self.wait or 0.0)
        while True:
            try:
                yield from self._try_acquire_flow()
                return
            except (LeaseHeld, StoreUnavailable) as exc:
                left = give_up - clock.monotonic()
                record = exc.record if isinstance(exc, LeaseHeld) else None
                if left <= 0 or (record is not None and give_up_if and give_up_if(record)):
                    raise
                yield Pause(min(self.pause_after(exc), left))

    def _try_acquire_flow(self, method: str = "acquire") -> Flow[Lease]:
        """One acquire attempt (``method="steal"``: the store's steal, which takes the lease
        from a live holder too). A grant that arrived after its own local deadline (the store
        answered more slowly than the ttl) is released and refused, never acted on, and so is
        one whose reply showed this client's clock beyond the clock bound (ClockSkewed)."""
        self.check_clock()
        if self._first_attempt is None:
            self._first_attempt = self.store.clock.monotonic()
        if self.slots == 1:
            grant = yield from self._attempt_flow(method, self.name)
        else:
            grant = yield from self._slot_flow(method)
        lease = self.policy.stamp(grant)
        try:
            self.check_clock()  # the grant's own reply may be the first to show the offset
        except ClockSkewed:
            yield from self._release_quietly(lease)
            raise
        if not lease.is_valid():
            yield from self._release_quietly(lease)
            raise StoreUnavailable(
                f"the grant of token {lease.token} arrived {-lease.remaining():.3f}s after its "
                "local deadline (the store answered more slowly than the ttl); nothing was run "
                "under it: retry, or use a longer ttl",
                lease=self.name,
                store=self.store.url,
            )
        self._lease = lease
        self._next_renewal = self.store.clock.monotonic() + self.policy.renewal_pause(
            self._random()
        )
        waited = self.store.clock.monotonic() - self._first_attempt
        if method == "steal":
            self._report(events.STOLEN, reason="the previous holder is cut off", waited=waited)
        else:
            self._report(events.ACQUIRED, waited=waited)
        self._on_held()
        return lease

    def _attempt_flow(self, method: str, record: str) -> Flow[Lease]:
        """One acquire (or steal) request for ``record``; a refusal is reported."""
        self._record = record
        try:
            grant: Lease = yield Call(method, (record, self.holder, self._ttl_now(), self.metadata))
        except LeaseHeld as exc:
            self._report(
                events.REFUSED, reason=f"held by {exc.record.holder if exc.record else '?'}"
            )
            raise
        return grant

    def _slot_flow(self, method: str) -> Flow[Lease]:
        """One attempt on a semaphore: one acquire per slot, until one is granted.

        The slots are tried in turn from this holder's own first slot (a hash of its id, so
        contenders spread and a holder that comes back under the same id tries its old slot
        first), each once. A lost response (an ambiguous StoreUnavailable: the write may have
        landed) ends the attempt, and the next one starts at that slot: if the write landed, it
        is re-entered there, so one holder never ends up with two slots. All refused:
        LeaseHeld carrying the refusal that frees soonest (the campaign waits for it); any
        plain failure and no grant: the last StoreUnavailable.
        """
        if method == "steal":
            raise ConfigError(
                f"a semaphore of {self.slots} slots is not stolen as a whole: steal one slot "
                "by its record name (e.g. cloudlease steal --lease "
                f"{self.name}.slot-0)",
                lease=self.name,
                store=self.store.url,
            )
        from cloudlease._slots import slot_record

        slots = self.slots
        start = self._resume if self._resume is not None else first_slot(self.holder, slots)
        refusals: list[LeaseHeld] = []
        failure: StoreUnavailable | None = None
        for turn in range(slots):
            slot = (start + turn) % slots
            try:
                grant = yield from self._attempt_flow(method, slot_record(self.name, slot, slots))
            except LeaseHeld as exc:
                refusals.append(exc)
                self._resume = None
                continue
            except StoreUnavailable as exc:
                if exc.ambiguous:
                    self._resume = slot  # re-enter here first: the write may have landed
                    raise
                failure = exc
                continue
            self._resume = None
            self._slot = slot
            return grant
        if failure is not None:
            raise failure
        soonest = min(refusals, key=lambda r: r.record.expires_at if r.record else 0)
        holders = ", ".join(repr(r.record.holder) if r.record else "?" for r in refusals)
        raise LeaseHeld(
            f"all {slots} slots are held (by {holders})",
            lease=self.name,
            store=self.store.url,
            record=soonest.record,
        )

    def check_clock(self) -> None:
        """Raise ClockSkewed when the store's replies show this client's clock surely farther
        than the clock bound A from the store's; warn (once a minute) beyond A/2."""
        offset = self.store.clock_offset.current()
        if offset is None:
            return
        bound_ms = self.store.clock_skew_bound * 1000
        if offset.surely_beyond(bound_ms):
            raise ClockSkewed(
                f"this host's clock is off the store's by {offset}, beyond the clock bound of "
                f"{bound_ms / 1000:g}s that expiry and fencing tokens rely on; fix the host's "
                "time sync (NTP) before acquiring",
                lease=self.name,
                store=self.store.url,
                offset_ms=offset.estimate_ms,
            )
        now = self.store.clock.monotonic()
        warned = self.store.clock_offset.warned_at
        if offset.surely_beyond(bound_ms / 2) and (warned is None or now - warned > WARN_EVERY):
            self.store.clock_offset.warned_at = now
            log.warning(
                "cloudlease: [lease %r, store %s] this host's clock is off the store's by %s, "
                "over half the clock bound of %gs: check the host's time sync",
                self.name,
                self.store.url,
                offset,
                bound_ms / 1000,
            )

    def _release_quietly(self, grant: Lease) -> Flow[None]:
        try:
            yield Call("release", (grant,))
        except Exception as exc:  # it expires by itself anyway
            log.warning("cloudlease: release of a refused grant of %r failed: %s", self.name, exc)

    def pause_after(self, refusal: Exception) -> float:
        """The campaign pause after a refused or failed attempt (``TimingPolicy`` rule)."""
        record = refusal.record if isinstance(refusal, LeaseHeld) else None
        return self.policy.campaign_pause(self._random(), record, self.store.clock.wall_ms())

    def _random(self) -> random.Random:
        """The jitter's random source, made on first use."""
        if self._rng is None:
            import random

            self._rng = random.Random()
        return self._rng

    def _ttl_now(self) -> float:
        if self._not_after is None:
            return self.policy.ttl
        return min(self.policy.ttl, self._not_after - self.store.clock.monotonic())

    # -- renewing: decisions ----------------------------------------------------------------

    def next_wakeup(self) -> float:
        """The monotonic instant of the next renewal, or of the step-down if sooner."""
        return min(self._next_renewal, self.lease.deadline)

    def renewal_ttl(self) -> float | None:
        """The ttl to renew for now, or None when the hard cap leaves too little to renew
        (the lease then runs out at its deadline, never past ``max_duration``)."""
        ttl = self._ttl_now()
        if ttl < self.store.capabilities.min_ttl:
            self._next_renewal = math.inf
            return None
        return ttl

    def on_renewed(self, grant: Lease) -> None:
        self._lease = self.policy.stamp(grant)
        self._next_renewal = self.store.clock.monotonic() + self.policy.renewal_pause(
            self._random()
        )
        failed, self._renew_failures = self._renew_failures, 0
        if failed:
            left = self._lease.remaining()
            self._report(
                events.RENEWED_LATE, reason=f"after {failed} failed attempt(s), {left:.3f}s left"
            )
        else:
            self._report(events.RENEWED)

    def on_renew_failed(self, error: Exception) -> bool:
        """Apply a failed renewal; False when it ended the tenure (the lease is not ours)."""
        if isinstance(error, LeaseLost):
            self.step_down(f"lost: {error.detail}")
            return False
        self._renew_failures += 1
        unexpected = not isinstance(error, StoreUnavailable)  # a bug: log its traceback
        self._report(events.RENEW_FAILED, reason=str(error), exc_info=error if unexpected else None)
        self._next_renewal = self.store.clock.monotonic() + self.policy.renew_retry
        return True

    def past_deadline(self) -> bool:
        """Step down if the local deadline has passed; True if it has."""
        now = self.store.clock.monotonic()
        lease = self.lease
        if now < lease.deadline:
            return False
        capped = (
            self._not_after is not None
            and self._not_after - now <= self.policy.margin_for(lease.ttl) + 1e-6
        )
        self.step_down(
            "reached its hard deadline (max_duration); stepped down"
            if capped
            else "renewals failed until the local deadline; stepped down"
        )
        return True

    # -- renewing and ending: the flows ------------------------------------------------------

    def _step_flow(self) -> Flow[bool]:
        """Do what is due now: step down past the deadline, or renew. False once over."""
        if self.lost.is_set() or self.past_deadline():
            return False
        if self.store.clock.monotonic() < self._next_renewal:
            return True
        ttl = self.renewal_ttl()
        if ttl is None:
            return True
        try:
            grant = yield Call("renew", (self.lease, ttl))
        except Exception as exc:
            return self.on_renew_failed(exc)
        self.on_renewed(grant)
        return True

    def _extend_flow(self, seconds: Duration | None) -> Flow[float]:
        """Renew now, for ``seconds`` (default: the ttl), capped by the hard deadline
        (``max_duration``: the Lambda or Cloud Run deadline) and the store's limits; return
        the seconds left before the new local deadline. The way to renew in
        ``renewal="manual"`` mode; raises LeaseLost if the lease is no longer ours (the
        tenure then ends) and StoreUnavailable if the store could not answer (it still ends
        at its old deadline)."""
        self.ensure()
        ttl = (
            self.policy.ttl
            if seconds is None
            else to_seconds(seconds, what="extend", lease=self.name)
        )
        if self._not_after is not None:
            ttl = min(ttl, self._not_after - self.store.clock.monotonic())
        try:
            grant = yield Call("renew", (self.lease, ttl))
        except LeaseLost as exc:
            self.step_down(f"lost: {exc.detail}")
            raise
        self.on_renewed(grant)
        return self.remaining()

    def _release_flow(self, reason: str, strict: bool) -> Flow[bool]:
        """Let a lease that is still ours go; True if this released it.

        A failure is logged (the lease expires at its ttl). With ``strict`` (a handle brought
        from another invocation), a lease that was no longer ours raises LeaseLost instead."""
        if self._lease is None or not self._end(reason):
            return False
        try:
            released: bool = yield Call("release", (self._lease,))
        except Exception as exc:
            self._report(events.RELEASE_FAILED, reason=str(exc))
            return False
        if released:
            self._report(events.RELEASED)
        else:
            self._report(events.LOST, reason="no longer ours at release (expired or taken over)")
        if strict and not released:
            raise LeaseLost(
                f"token {self._lease.token} was no longer ours to release: the handle is stale "
                "(expired, released, or taken over since it was made)",
                lease=self.name,
                store=self.store.url,
            )
        return released

    def _mark_done_flow(self, metadata: Mapping[str, Any], remember: float) -> Flow[None]:
        """End the tenure by keeping the lease, re-entered for ``remember`` seconds (at most
        the store's ttl ceiling) with ``metadata``: a duplicate's acquire is then refused and
        learns from the record that the work is done. A failure is logged, not raised."""
        if self._lease is None or not self._end("tick done"):
            return
        caps = self.store.capabilities
        # Contenders see the record free takeover_allowance after its expiry: end it that much
        # sooner, so that the tick is kept exactly ``remember`` seconds (its ``done_until``).
        keep = max(remember - self.store.takeover_allowance, caps.min_ttl)
        if caps.max_ttl is not None:
            keep = min(keep, caps.max_ttl)
        try:
            done = yield Call("acquire", (self._lease.name, self.holder, keep, metadata))
        except Exception as exc:  # the run succeeded: report, do not fail it
            self._report(events.DONE_FAILED, reason=str(exc))
            return
        self._report(events.DONE, token=done.token)

    # -- ending -----------------------------------------------------------------------------

    def step_down(self, reason: str) -> None:
        """End the tenure because the lease is (or may be) lost: log, set ``lost``, call
        ``on_lost`` once."""
        if not self._end(reason):
            return
        # The store said the lease is not ours ("lost: ..."), or we stopped acting in time.
        self._report(events.LOST if reason.startswith("lost") else events.STEPPED_DOWN)
        if self.on_lost is not None:
            try:
                self.on_lost(self)
            except Exception:
                log.exception("cloudlease: on_lost callback for %r raised", self.name)

    def abandon(self, reason: str = "abandoned") -> None:
        """End the tenure without a request: the lease is left to expire at its ttl."""
        if self._end(reason) and self._lease is not None:
            self._report(events.ABANDONED)

    def _report(self, transition: str, *, reason: str | None = None, **fields: Any) -> None:
        """Report a transition (``cloudlease.events``): the grant's token unless given, and
        why the tenure ended once it has."""
        token = self._lease.token if self._lease is not None else None
        events.report(
            transition,
            lease=self._record,
            holder=self.holder,
            token=fields.pop("token", token),
            store=self.store.url,
            reason=reason or (self._reason if self.lost.is_set() else None),
            **fields,
        )

    def _send(self, call: Call) -> Any:
        """Make the store request ``call`` names: the one place a lease change reaches a store
        (what the store returns; on the async side, the coroutine to await)."""
        store: Any = self.store  # this side's store: a LeaseStore, or an AsyncLeaseStore
        method = call.method
        if method == "acquire":
            return store.acquire(*call.args)
        if method == "renew":
            return store.renew(*call.args)
        if method == "release":
            return store.release(*call.args)
        if method == "steal":
            return store.steal(*call.args)
        if method == "get":  # a read (a front door's look at a refused record): no change
            return store.get(*call.args)
        raise AssertionError(f"not a lifecycle request: {method}")

    def _request(self, call: Call) -> events.Request:
        """The store request ``call`` makes, as the request hook sees it (``events``)."""
        grant = call.args[0] if call.args and isinstance(call.args[0], Lease) else None
        token = None if grant is None else grant.token
        return events.request(call.method, self._record, self.holder, token, self.store.url)

    def _end(self, reason: str) -> bool:
        """Record the end once; True if this call was the one that did."""
        if self.lost.is_set():
            return False
        self._reason = reason
        self.lost.set()
        self._on_ended()
        return True

    def _on_held(self) -> None:
        """The lease is held now (the sync side registers it for release at exit)."""

    def _on_ended(self) -> None:
        """The tenure is over."""


class Tenure(TenureCore):
    """One held lease's life, driven from sync code; also the handle its holder uses
    (``HeldLease``). Use it as a context manager (acquire, renew from the process's renewal
    scheduler, release on exit) or drive it step by step. Its async twin is ``AsyncTenure``,
    which ``hold()`` returns for an async store."""

    store: LeaseStore

    def _init_side(self) -> None:
        self._renewing = threading.Lock()  # one renewal request at a time
        self._never = threading.Event()
        self._renewer: Registration | None = None

    def _on_held(self) -> None:
        if self.release_at_exit:
            AT_EXIT.add(self)

    def _on_ended(self) -> None:
        AT_EXIT.discard(self)

    @classmethod
    def from_json(
        cls,
        store: LeaseStore,
        data: object,
        *,
        renewal: str = "manual",
        release_at_exit: bool = False,
    ) -> Tenure:
        """The lease a handle describes, held by this process from now on (renew it with
        ``renew()``/``extend()``, end it with ``release(strict=True)``). Its local deadline is
        the issuer's, less the clock bound; a handle already past it raises LeaseLost."""
        from cloudlease import handoff

        handle = handoff.decode(data, store=store.url)
        policy = TimingPolicy.for_store(store, lease=handle.name, ttl=handle.ttl)
        tenure = cls(
            store,
            handle.name,
            policy=policy,
            holder=handle.holder,
            renewal=renewal,
            release_at_exit=release_at_exit,
        )
        clock = store.clock
        bound = store.clock_skew_bound
        left = (handle.deadline_ms - clock.wall_ms()) / 1000 - bound
        now = clock.monotonic()
        tenure._lease = Lease(
            name=handle.name,
            holder=handle.holder,
            token=handle.token,
            expires_at=handle.record.expires_at,
            deadline=now + left,
            ttl=handle.ttl,
            started=now,
            record=handle.record,
            clock=clock,
        )
        if left <= 0:
            tenure._end("the handle expired before it arrived")
            raise LeaseLost(
                f"the handle of token {handle.token} expired {-left:.3f}s ago (counting the "
                f"clock bound of {bound:g}s): acquire again",
                lease=handle.name,
                store=store.url,
            )
        tenure._next_renewal = now + policy.renew_every
        if release_at_exit:
            AT_EXIT.add(tenure)
        return tenure

    @classmethod
    def unguarded(cls, name: str, holder: str, ttl: float) -> Tenure:
        """A local stand-in for runs with guarding turned off (``CLOUDLEASE_DISABLED=1``):
        held at once, on a private in-process store, with fencing token 0, which a fenced
        target accepts only while no real holder has written to it (and which no store's own
        fence check accepts). Never touches a real store."""
        from cloudlease.stores.memory import MemoryStore

        store = MemoryStore()
        policy = TimingPolicy.for_store(store, lease=name, ttl=ttl)
        tenure = cls(store, name, policy=policy, holder=holder, release_at_exit=False)
        now_ms = store.clock.wall_ms()
        store.put(
            LeaseRecord(
                name,
                holder,
                token=0,
                expires_at=now_ms + round(ttl * 1000),
                acquired_at=now_ms,
                renewed_at=now_ms,
                transitions=1,
            )
        )
        record = store.get(name)
        assert record is not None
        tenure._lease = policy.stamp(
            Lease(
                name=name,
                holder=holder,
                token=0,
                expires_at=record.expires_at,
                deadline=0.0,
                ttl=ttl,
                started=store.clock.monotonic(),
                record=record,
                clock=store.clock,
            )
        )
        tenure._next_renewal = store.clock.monotonic() + policy.renew_every
        return tenure

    # -- driving the flows on this thread ---------------------------------------------------

    def _perform(self, step: Step) -> Any:
        if isinstance(step, Pause):
            self.store.clock.wait(self._never, step.seconds)
            return None
        with self._request(step) as request:
            if step.method == "renew":
                with self._renewing:
                    return request.done(self._send(step))
            return request.done(self._send(step))

    def acquire(self, give_up_if: Callable[[LeaseRecord], bool] | None = None) -> Tenure:
        """Acquire, retrying while held elsewhere or unavailable, up to ``wait`` seconds.

        No ``wait`` (or 0) fails fast with LeaseHeld, and so does a refusal whose record
        ``give_up_if`` accepts (e.g. a tick already done).
        """
        run(self._acquire_flow(give_up_if), self._perform)
        return self

    def try_acquire(self) -> Lease:
        """One acquire attempt (refused if the grant arrived too late or the clock is off)."""
        return run(self._try_acquire_flow(), self._perform)

    def steal(self) -> Lease:
        """Take the lease at once, from a live holder too, with a greater token: the old
        holder's renewals and fenced writes are refused from then on. A free lease is simply
        acquired; StealConflict (nothing written) if the lease changed during the steal."""
        return run(self._try_acquire_flow("steal"), self._perform)

    def step(self) -> bool:
        """Do what is due now: step down past the deadline, or renew. False once over."""
        return run(self._step_flow(), self._perform)

    def extend(self, seconds: Duration | None = None) -> float:
        """Renew now for ``seconds`` (default: the ttl), within the hard cap and the store's
        limits; the seconds left before the new deadline (``TenureCore._extend_flow``)."""
        return run(self._extend_flow(seconds), self._perform)

    def renew(self) -> float:
        """``extend()`` for the ttl: renew now; the seconds left before the new deadline."""
        return self.extend()

    def start_renewing(self) -> None:
        """Renew in the background, from the process's renewal scheduler
        (``cloudlease.scheduler``), until ``stop_renewing()`` or the end of the tenure."""
        self._renewer = schedule(self, self.store.clock)

    def stop_renewing(self) -> None:
        if self._renewer is not None:
            self._renewer.stop()
            self._renewer = None

    def release(self, reason: str = "released", *, strict: bool = False) -> bool:
        """Let a lease that is still ours go; True if this released it (a failure is logged;
        with ``strict``, a lease no longer ours raises LeaseLost)."""
        return run(self._release_flow(reason, strict), self._perform)

    def mark_done(self, metadata: Mapping[str, Any], remember: float) -> None:
        """End the tenure keeping the lease for ``remember`` seconds with ``metadata`` (a
        done tick); a failure is logged, not raised."""
        run(self._mark_done_flow(metadata, remember), self._perform)

    # -- with -------------------------------------------------------------------------------

    def __enter__(self) -> Tenure:
        if self._lease is not None:
            raise ConfigError("a Tenure is entered once; build a new one", lease=self.name)
        self.acquire()
        if self.renewal == "background":
            self.start_renewing()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_renewing()
        self.release()

    async def __aenter__(self) -> Tenure:
        raise ConfigError(
            "this store is the sync side: use 'with hold(...)', or open the async side of the "
            "same URL with cloudlease.open_async_store(url) for 'async with hold(...)'",
            lease=self.name,
            store=self.store.url,
        )

    async def __aexit__(self, *exc_info: object) -> None:
        """Never reached: ``__aenter__`` refuses."""


#: The name users see for the lease a ``hold()`` block, a guarded call or an elector holds.
HeldLease = Tenure

__all__ = ["FOREVER", "HeldLease", "Tenure", "TimingPolicy", "release_on_sigterm"]
