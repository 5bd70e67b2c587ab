"""The lease lifecycle, written once: ``TimingPolicy`` (the numbers) and ``Tenure`` (one life).

``TimingPolicy`` is built once from the ttl, the renewal and retry periods, the jitter, the
safety margin, an optional hard cap and the store's declared limits; it checks them with one
message per rule and computes margins, deadlines and campaign pauses. ``Tenure`` is one held
lease: acquire (or wait for it), renew, step down before the local deadline, release or mark
its tick done. ``hold()``, ``@single_runner``, ``LeaderElector``, the adapters and
``cloudlease run`` are thin users: no other core module calls a store's acquire, renew or
release.

A Tenure's decisions (``next_wakeup``, ``renewal_ttl``, ``on_renewed``, ``on_renew_failed``)
are apart from the waiting, so a thread (``cloudlease.renewal``), a shared scheduler or an
event loop can drive the same rules.
"""

from __future__ import annotations

import atexit
import logging
import math
import random
import signal
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from cloudlease._validation import Duration, check_holder, check_name, to_seconds
from cloudlease.errors import ClockSkewed, ConfigError, LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.lease import Lease
from cloudlease.records import LeaseRecord
from cloudlease.renewal import RenewalThread
from cloudlease.store import LeaseStore, default_holder_id

log = logging.getLogger("cloudlease")

#: ``wait=FOREVER`` waits for the lease without a time limit.
FOREVER = math.inf
#: The default safety margin: a tenth of the ttl, at most this many seconds.
DEFAULT_MARGIN_CAP = 2.0
#: Bounds on a held lease's ttl, on every store (a store may bound it further; Azure: 15-120 s).
#: Below the minimum a renewal every ttl/3 cannot keep up with a store's latency; above the
#: maximum a crashed holder would block the lease for longer than any job needs: a long job
#: renews its lease, it does not need a long ttl.
MIN_TENURE_TTL = 0.5
MAX_TENURE_TTL = 86_400.0
#: The clock bound A when a store's skew allowance is 0 (server-side expiry, or one host):
#: tokens still start from client clocks, so a client farther than this refuses to acquire.
DEFAULT_CLOCK_BOUND = 1.0
#: Seconds between two warnings about the same store's clock offset.
WARN_EVERY = 60.0


@dataclass(frozen=True)
class TimingPolicy:
    """Every number of a tenure, checked together (build it with ``for_store``).

    ``ttl`` is what the store grants (after its limits), ``renew_every`` the period between
    renewals, ``renew_retry`` the pause after a failed renewal, ``retry_every`` and ``jitter``
    shape campaign pauses (``retry_every * (1 + U(0, jitter))``), ``skew_allowance`` is the
    store's, ``margin`` the configured safety margin (None: ttl/10, at most 2 s) and
    ``max_duration`` caps the whole tenure, renewals included.
    """

    ttl: float
    renew_every: float
    renew_retry: float
    retry_every: float
    jitter: float
    skew_allowance: float
    margin: float | None = None
    max_duration: float | None = None

    @classmethod
    def for_store(
        cls,
        store: LeaseStore,
        *,
        lease: str,
        ttl: Duration,
        renew_every: Duration | None = None,
        retry_every: Duration | None = None,
        jitter: float = 0.2,
        safety_margin: Duration | None = None,
        max_duration: Duration | None = None,
    ) -> TimingPolicy:
        """Check every option before any request; ConfigError names the rule broken."""
        where = {"lease": lease, "store": store.url}
        requested = to_seconds(ttl, what="ttl", lease=lease, store=store.url)
        cap = None
        if max_duration is not None:
            cap = to_seconds(max_duration, what="max_duration", lease=lease, store=store.url)
            requested = min(requested, cap)
        if not MIN_TENURE_TTL <= requested <= MAX_TENURE_TTL:
            raise ConfigError(
                f"ttl {requested:g}s is outside {MIN_TENURE_TTL:g}-{MAX_TENURE_TTL:g}s, the bounds "
                "of a held lease (shorter cannot be renewed in time; longer would block the lease "
                "for that long after a crash): a long job renews its lease, it does not need a "
                "long ttl",
                **where,
            )
        granted = store.capabilities.check_ttl(requested, lease=lease, store=store.url)
        if granted < requested:
            log.warning(
                "cloudlease: [lease %r, store %s] ttl %gs is granted as %gs: %s",
                lease,
                store.url,
                requested,
                granted,
                store.capabilities.ttl_rule or "the store's limit",
            )
        margin = safety_margin if safety_margin is not None else store.safety_margin
        margin_s = (
            None if margin is None else to_seconds(margin, what="safety_margin", allow_zero=True)
        )
        renew_s = granted / 3
        if renew_every is not None:
            renew_s = to_seconds(renew_every, what="renew_every", lease=lease, store=store.url)
        if not isinstance(jitter, (int, float)) or not 0 <= jitter < 1:
            raise ConfigError(f"jitter must be in [0, 1), got {jitter!r}", **where)
        if retry_every is None:
            retry_s = min(1.0, renew_s, granted / (1 + jitter))
        else:
            retry_s = to_seconds(retry_every, what="retry_period", lease=lease, store=store.url)
        policy = cls(
            ttl=granted,
            renew_every=renew_s,
            renew_retry=max(renew_s / 4, 0.05),
            retry_every=retry_s,
            jitter=float(jitter),
            skew_allowance=store.skew_allowance,
            margin=margin_s,
            max_duration=cap,
        )
        usable = granted - policy.margin_for(granted)
        if renew_s >= usable:
            raise ConfigError(
                f"renew_every ({renew_s:g}s) must be shorter than ttl minus the safety margin "
                f"({usable:g}s), or the lease expires before its first renewal; use ttl/3",
                **where,
            )
        if retry_s * (1 + jitter) > granted:
            raise ConfigError(
                f"retry_period with jitter ({retry_s * (1 + jitter):g}s) must not exceed ttl "
                f"({granted:g}s), or a free lease waits longer than it lasts",
                **where,
            )
        return policy

    def margin_for(self, ttl: float) -> float:
        """Seconds before ``start + ttl`` at which a holder stops acting."""
        if self.margin is not None:
            return min(self.margin, ttl / 2)
        return min(ttl / 10, DEFAULT_MARGIN_CAP)

    def stamp(self, grant: Lease) -> Lease:
        """``grant`` with its local deadline: ``started + ttl - margin``."""
        return replace(grant, deadline=grant.started + grant.ttl - self.margin_for(grant.ttl))

    def campaign_pause(
        self, rng: random.Random, record: LeaseRecord | None = None, now_ms: int = 0
    ) -> float:
        """How long to wait before the next acquire attempt.

        ``retry_every`` stretched by up to ``jitter`` (never shrunk); when the refusal carried
        the holder's record, no later than just after its expiry (plus the skew allowance),
        spread by the same jitter so that waiters do not all wake at that instant.
        """
        pause = self.retry_every * (1 + rng.uniform(0, self.jitter))
        if record is not None:
            until_free = (record.expires_at - now_ms) / 1000 + self.skew_allowance + 0.001
            spread = rng.uniform(0, self.jitter * self.retry_every)
            pause = min(pause, max(until_free, 0.001) + spread)
        return pause


class Tenure:
    """One held lease's life; also the handle its holder uses (``HeldLease``).

    ``lost`` is an Event set when the tenure ends (lost, stepped down, released or done);
    ``ensure()`` raises LeaseLost from then on, and ``on_lost(tenure)`` is called once when
    the lease was lost rather than let go. Use it as a context manager (acquire, renew on a
    thread, release on exit) or drive it step by step.
    """

    def __init__(
        self,
        store: LeaseStore,
        name: str,
        *,
        policy: TimingPolicy,
        holder: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        wait: Duration | None = None,
        on_lost: Callable[[Tenure], None] | None = None,
        rng: random.Random | None = None,
        release_at_exit: bool = True,
    ) -> None:
        self.store = store
        self.name = check_name(name, store=store.url)
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
        self._rng = rng or random.Random()
        self._lease: Lease | None = None
        self._reason: str | None = None
        self._next_renewal = math.inf
        self._not_after = (
            None if policy.max_duration is None else store.clock.monotonic() + policy.max_duration
        )
        self._renewer: RenewalThread | None = None
        self.release_at_exit = release_at_exit

    # -- the handle -------------------------------------------------------------------------

    @property
    def lease(self) -> Lease:
        """The latest grant (renewals replace it)."""
        if self._lease is None:
            raise LeaseLost("the lease has not been acquired yet", lease=self.name)
        return self._lease

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
        return f"Tenure({self.name!r}, token={token}, {state})"

    # -- acquiring --------------------------------------------------------------------------

    def acquire(self, give_up_if: Callable[[LeaseRecord], bool] | None = None) -> Tenure:
        """Acquire, retrying while held elsewhere or unavailable, up to ``wait`` seconds.

        No ``wait`` (or 0) fails fast with LeaseHeld, and so does a refusal whose record
        ``give_up_if`` accepts (e.g. a tick already done).
        """
        clock = self.store.clock
        give_up = clock.monotonic() + (self.wait or 0.0)
        never = threading.Event()
        while True:
            try:
                self.try_acquire()
                return self
            except (LeaseHeld, StoreUnavailable) as exc:
                left = give_up - clock.monotonic()
                record = exc.record if isinstance(exc, LeaseHeld) else None
                if left <= 0 or (record is not None and give_up_if and give_up_if(record)):
                    raise
                clock.wait(never, min(self.pause_after(exc), left))

    def try_acquire(self) -> Lease:
        """One acquire attempt. A grant that arrived after its own local deadline (the store
        answered more slowly than the ttl) is released and refused, never acted on, and so is
        one whose reply showed this client's clock beyond the clock bound (ClockSkewed)."""
        self.check_clock()
        lease = self.policy.stamp(
            self.store.acquire(self.name, self.holder, self._ttl_now(), self.metadata)
        )
        try:
            self.check_clock()  # the grant's own reply may be the first to show the offset
        except ClockSkewed:
            self._release_quietly(lease)
            raise
        if not lease.is_valid():
            self._release_quietly(lease)
            raise StoreUnavailable(
                f"the grant of token {lease.token} arrived {-lease.remaining():.3f}s after its "
                "local deadline (the store answered more slowly than the ttl); nothing was run "
                "under it: retry, or use a longer ttl",
                lease=self.name,
                store=self.store.url,
            )
        self._lease = lease
        self._next_renewal = self.store.clock.monotonic() + self.policy.renew_every
        if self.release_at_exit:
            _at_exit.add(self)
        return lease

    def check_clock(self) -> None:
        """Raise ClockSkewed when the store's replies show this client's clock surely farther
        than the clock bound A from the store's; warn (once a minute) beyond A/2."""
        offset = self.store.clock_offset.current()
        if offset is None:
            return
        bound_ms = (self.store.skew_allowance or DEFAULT_CLOCK_BOUND) * 1000
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

    def _release_quietly(self, grant: Lease) -> None:
        try:
            self.store.release(grant)
        except Exception as exc:  # it expires by itself anyway
            log.warning("cloudlease: release of a refused grant of %r failed: %s", self.name, exc)

    def pause_after(self, refusal: Exception) -> float:
        """The campaign pause after a refused or failed attempt (``TimingPolicy`` rule)."""
        record = refusal.record if isinstance(refusal, LeaseHeld) else None
        return self.policy.campaign_pause(self._rng, record, self.store.clock.wall_ms())

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
        self._next_renewal = self.store.clock.monotonic() + self.policy.renew_every

    def on_renew_failed(self, error: Exception) -> bool:
        """Apply a failed renewal; False when it ended the tenure (the lease is not ours)."""
        if isinstance(error, LeaseLost):
            self.step_down(f"lost: {error.detail}")
            return False
        if isinstance(error, StoreUnavailable):
            log.warning("cloudlease: renewal of %r failed, retrying: %s", self.name, error)
        else:
            log.error(
                "cloudlease: renewal of %r raised; treating it as failed", self.name, exc_info=error
            )
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

    # -- renewing: the sync step ------------------------------------------------------------

    def step(self) -> bool:
        """Do what is due now: step down past the deadline, or renew. False once over."""
        if self.lost.is_set() or self.past_deadline():
            return False
        if self.store.clock.monotonic() < self._next_renewal:
            return True
        ttl = self.renewal_ttl()
        if ttl is None:
            return True
        try:
            grant = self.store.renew(self.lease, ttl)
        except Exception as exc:
            return self.on_renew_failed(exc)
        self.on_renewed(grant)
        return True

    def start_renewing(self) -> None:
        """Renew on a daemon thread until ``stop_renewing()`` or the end of the tenure."""
        self._renewer = RenewalThread(self, self.store.clock)
        self._renewer.start()

    def stop_renewing(self) -> None:
        if self._renewer is not None:
            self._renewer.stop()
            self._renewer = None

    # -- ending -----------------------------------------------------------------------------

    def step_down(self, reason: str) -> None:
        """End the tenure because the lease is (or may be) lost: log, set ``lost``, call
        ``on_lost`` once."""
        if not self._end(reason):
            return
        log.warning("cloudlease: lease %r (token %d) %s", self.name, self.token, reason)
        if self.on_lost is not None:
            try:
                self.on_lost(self)
            except Exception:
                log.exception("cloudlease: on_lost callback for %r raised", self.name)

    def release(self, reason: str = "released") -> None:
        """Let a lease that is still ours go; a failure is logged (it expires at its ttl)."""
        if self._lease is None or not self._end(reason):
            return
        try:
            self.store.release(self._lease)
        except Exception as exc:
            log.warning(
                "cloudlease: release of %r failed (%s); it expires by itself at its ttl",
                self.name,
                exc,
            )

    def abandon(self, reason: str = "abandoned") -> None:
        """End the tenure without a request: the lease is left to expire at its ttl."""
        self._end(reason)

    def mark_done(self, metadata: Mapping[str, Any], remember: float) -> None:
        """End the tenure by keeping the lease, re-entered for ``remember`` seconds (at most
        the store's ttl ceiling) with ``metadata``: a duplicate's acquire is then refused and
        learns from the record that the work is done. A failure is logged, not raised."""
        if self._lease is None or not self._end("tick done"):
            return
        caps = self.store.capabilities
        # Contenders see the record free skew_allowance after its expiry: end it that much
        # sooner, so that the tick is kept exactly ``remember`` seconds (its ``done_until``).
        keep = max(remember - self.store.skew_allowance, caps.min_ttl)
        if caps.max_ttl is not None:
            keep = min(keep, caps.max_ttl)
        try:
            self.store.acquire(self.name, self.holder, keep, metadata)
        except Exception as exc:  # the run succeeded: report, do not fail it
            log.warning("cloudlease: could not mark tick %r done: %s", self.name, exc)

    def _end(self, reason: str) -> bool:
        """Record the end once; True if this call was the one that did."""
        if self.lost.is_set():
            return False
        self._reason = reason
        self.lost.set()
        _at_exit.discard(self)
        return True

    # -- with -------------------------------------------------------------------------------

    def __enter__(self) -> Tenure:
        if self._lease is not None:
            raise ConfigError("a Tenure is entered once; build a new one", lease=self.name)
        self.acquire()
        self.start_renewing()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop_renewing()
        self.release()


#: The name users see for the lease a ``hold()`` block, a guarded call or an elector holds.
HeldLease = Tenure


class _AtExit:
    """The tenures still held that release themselves when the interpreter exits."""

    def __init__(self) -> None:
        self._tenures: weakref.WeakSet[Tenure] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._registered = False

    def add(self, tenure: Tenure) -> None:
        with self._lock:
            self._tenures.add(tenure)
            if not self._registered:
                atexit.register(self.release_all, "released at interpreter exit")
                self._registered = True

    def discard(self, tenure: Tenure) -> None:
        with self._lock:
            self._tenures.discard(tenure)

    def release_all(self, reason: str) -> None:
        with self._lock:
            held = list(self._tenures)
        for tenure in held:
            tenure.release(reason)


_at_exit = _AtExit()


def release_on_sigterm() -> None:
    """Release every held lease when SIGTERM arrives, then let the handler that was installed
    before run (or, if there was none, die of SIGTERM as usual). Opt-in, and call it from the
    main thread after your server installs its own handler: servers such as gunicorn, uvicorn
    and Cloud Run's shutdown own SIGTERM. Tenures made with ``release_at_exit=False`` (handles
    detached to cross invocations) are left alone.
    """
    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        _at_exit.release_all("released on SIGTERM")
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
