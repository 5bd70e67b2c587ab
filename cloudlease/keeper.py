"""hold(): acquire a lease, keep it renewed in the background, step down before it expires.

The keeper trusts only the local monotonic clock. It renews every ``renew_every`` seconds
(ttl/3 by default); when renewals fail it retries until the lease's local deadline and then
steps down: ``lost`` is set, ``on_lost`` is called once and ``ensure()`` raises LeaseLost.
"""

from __future__ import annotations

import logging
import math
import random
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from cloudlease._validation import Duration, to_seconds
from cloudlease.errors import ConfigError, LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.store import LeaseStore, default_holder_id

log = logging.getLogger("cloudlease")

#: ``wait=FOREVER`` waits for the lease without a time limit.
FOREVER = float("inf")


class HeldLease:
    """The lease a ``hold()`` block holds; always shows the latest grant.

    ``lost`` is an Event set when the lease is lost (taken over, or renewals failed until the
    local deadline). ``ensure()`` raises LeaseLost from then on.
    """

    def __init__(self, lease: Lease) -> None:
        self._lease = lease
        self._reason: str | None = None
        self.lost = threading.Event()

    @property
    def lease(self) -> Lease:
        """The latest grant (renewals replace it)."""
        return self._lease

    @property
    def name(self) -> str:
        return self._lease.name

    @property
    def holder(self) -> str:
        return self._lease.holder

    @property
    def token(self) -> int:
        """The fencing token: pass it with every write that matters."""
        return self._lease.token

    @property
    def reason(self) -> str | None:
        """Why the lease was lost, or None while it is held."""
        return self._reason

    def remaining(self) -> float:
        """Seconds left before the local deadline (0 once lost)."""
        return 0.0 if self.lost.is_set() else self._lease.remaining()

    def is_valid(self, min_remaining: float = 0.0) -> bool:
        return not self.lost.is_set() and self._lease.is_valid(min_remaining)

    def ensure(self, min_remaining: float = 0.0) -> None:
        """Raise LeaseLost unless the lease is held with ``min_remaining`` seconds to spare."""
        if self.lost.is_set():
            raise LeaseLost(f"{self._reason}; stop acting on token {self.token}", lease=self.name)
        self._lease.ensure(min_remaining)

    def _update(self, lease: Lease) -> None:
        self._lease = lease

    def _mark_lost(self, reason: str) -> bool:
        """Record the loss once; True if this call was the one that did."""
        if self.lost.is_set():
            return False
        self._reason = reason
        self.lost.set()
        return True

    def __repr__(self) -> str:
        state = f"lost: {self._reason}" if self.lost.is_set() else "held"
        return f"HeldLease({self.name!r}, token={self.token}, {state})"


class Keeper:
    """Renews one held lease until stopped, lost, or past its local deadline."""

    def __init__(
        self,
        store: LeaseStore,
        held: HeldLease,
        *,
        renew_every: float,
        retry_every: float,
        on_lost: Callable[[HeldLease], None] | None = None,
        not_after: float | None = None,
    ) -> None:
        self.store = store
        self.held = held
        self.renew_every = renew_every
        self.retry_every = retry_every
        self.on_lost = on_lost
        self.not_after = not_after  # monotonic: no renewal reaches past it
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Renew on a daemon thread."""
        self._thread = threading.Thread(
            target=self.run, name=f"cloudlease-keeper:{self.held.name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing (returns once the thread has finished its current step)."""
        self.stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def run(self) -> None:
        """Renew until stopped or lost; on the calling thread (LeaderElector uses it so)."""
        clock = self.store.clock
        next_renewal = clock.monotonic() + self.renew_every
        while not self.stop_event.is_set():
            lease = self.held.lease
            now = clock.monotonic()
            if now >= lease.deadline:
                capped = (
                    self.not_after is not None
                    and self.not_after - now <= self.store.safety_margin_for(lease.ttl) + 1e-6
                )
                self._lose(
                    "reached its hard deadline (max_duration); stepped down"
                    if capped
                    else "renewals failed until the local deadline; stepped down"
                )
                return
            if now < next_renewal:
                clock.wait(self.stop_event, min(next_renewal, lease.deadline) - now)
                continue
            ttl = lease.ttl
            if self.not_after is not None:
                ttl = min(ttl, self.not_after - now)
                if ttl < self.store.capabilities.min_ttl:
                    next_renewal = math.inf  # let it run out at its deadline, not past not_after
                    continue
            try:
                self.held._update(self.store.renew(lease, ttl))
                next_renewal = clock.monotonic() + self.renew_every
            except LeaseLost as exc:
                self._lose(f"lost: {exc.detail}")
                return
            except StoreUnavailable as exc:
                log.warning("cloudlease: renewal of %r failed, retrying: %s", lease.name, exc)
                next_renewal = clock.monotonic() + self.retry_every
            except Exception as exc:
                log.exception("cloudlease: renewal of %r raised; treating it as failed", lease.name)
                next_renewal = clock.monotonic() + self.retry_every
                del exc

    def _lose(self, reason: str) -> None:
        if self.held._mark_lost(reason):
            log.warning(
                "cloudlease: lease %r (token %d) %s", self.held.name, self.held.token, reason
            )
            if self.on_lost is not None:
                try:
                    self.on_lost(self.held)
                except Exception:
                    log.exception("cloudlease: on_lost callback for %r raised", self.held.name)


def acquire_waiting(
    store: LeaseStore,
    name: str,
    holder: str,
    ttl: float,
    *,
    wait: float | None,
    metadata: Mapping[str, Any] | None = None,
    retry_every: float = 1.0,
    rng: random.Random | None = None,
    give_up_if: Callable[[LeaseRecord], bool] | None = None,
) -> Lease:
    """Acquire, retrying while held elsewhere (or the store is unavailable) up to ``wait`` s.

    ``wait=None`` (or 0) fails fast with LeaseHeld, and so does a refusal whose record
    ``give_up_if`` accepts (e.g. a tick already done). Retries sleep ``retry_every`` with +-20%
    jitter, or less when the current holder's expiry is sooner.
    """
    clock = store.clock
    give_up = clock.monotonic() + (wait or 0.0)
    rng = rng or random.Random()
    never = threading.Event()
    while True:
        try:
            return live_grant(store, store.acquire(name, holder, ttl, metadata))
        except (LeaseHeld, StoreUnavailable) as exc:
            left = give_up - clock.monotonic()
            held_for_good = (
                isinstance(exc, LeaseHeld)
                and exc.record is not None
                and give_up_if is not None
                and give_up_if(exc.record)
            )
            if left <= 0 or held_for_good:
                raise
            pause = retry_every * rng.uniform(0.8, 1.2)
            if isinstance(exc, LeaseHeld) and exc.record is not None:
                until_free = (
                    exc.record.expires_at + store.skew_allowance * 1000 - clock.wall_ms()
                ) / 1000 + 0.001
                # wake a little after the holder's expiry, spread out: no herd at that instant
                pause = min(pause, max(until_free, 0.001) + rng.uniform(0, 0.2 * retry_every))
            clock.wait(never, min(pause, left))


def live_grant(store: LeaseStore, lease: Lease) -> Lease:
    """``lease``, unless it arrived after its own local deadline (the store answered more
    slowly than the ttl): then it is released and refused as StoreUnavailable, never acted on."""
    if lease.is_valid():
        return lease
    try:
        store.release(lease)
    except Exception as exc:  # it expires by itself anyway
        log.warning("cloudlease: release of a dead grant of %r failed: %s", lease.name, exc)
    raise StoreUnavailable(
        f"the grant of token {lease.token} arrived {-lease.remaining():.3f}s after its local "
        "deadline (the store answered more slowly than the ttl); nothing was run under it: "
        "retry, or use a longer ttl",
        lease=lease.name,
        store=store.url,
    )


@dataclass(frozen=True)
class HoldPlan:
    """Checked options of one hold: what ``hold()`` and ``single_runner`` share."""

    store: LeaseStore
    name: str
    holder: str
    ttl: float
    wait: float | None
    renew_every: float
    metadata: Mapping[str, Any] | None
    not_after: float | None  # monotonic, on store.clock

    @classmethod
    def make(
        cls,
        store: LeaseStore,
        name: str,
        *,
        ttl: Duration,
        wait: Duration | None,
        holder: str | None,
        metadata: Mapping[str, Any] | None,
        renew_every: Duration | None,
        max_duration: Duration | None,
    ) -> HoldPlan:
        """Check every option before any request; ConfigError names the rule broken."""
        where = {"lease": name, "store": store.url}
        ttl_s = to_seconds(ttl, what="ttl", lease=name, store=store.url)
        wait_s = None
        if wait is not None:
            wait_s = to_seconds(wait, what="wait", lease=name, allow_zero=True, allow_infinite=True)
        not_after = None
        if max_duration is not None:
            cap = to_seconds(max_duration, what="max_duration", lease=name, store=store.url)
            not_after = store.clock.monotonic() + cap
            ttl_s = min(ttl_s, cap)
        renew_s = ttl_s / 3
        if renew_every is not None:
            renew_s = to_seconds(renew_every, what="renew_every", lease=name, store=store.url)
        usable = ttl_s - store.safety_margin_for(ttl_s)
        if renew_s >= usable:
            raise ConfigError(
                f"renew_every ({renew_s:g}s) must be shorter than ttl minus the safety margin "
                f"({usable:g}s), or the lease expires before its first renewal; use ttl/3",
                **where,
            )
        who = holder if holder is not None else default_holder_id()
        return cls(store, name, who, ttl_s, wait_s, renew_s, metadata, not_after)

    def acquire(self, give_up_if: Callable[[LeaseRecord], bool] | None = None) -> HeldLease:
        """Acquire (waiting as planned) and return the held lease, not yet renewed."""
        lease = acquire_waiting(
            self.store,
            self.name,
            self.holder,
            self.ttl,
            wait=self.wait,
            metadata=self.metadata,
            retry_every=min(1.0, self.renew_every),
            give_up_if=give_up_if,
        )
        return HeldLease(lease)

    def keeper(self, held: HeldLease, on_lost: Callable[[HeldLease], None] | None = None) -> Keeper:
        return Keeper(
            self.store,
            held,
            renew_every=self.renew_every,
            retry_every=max(self.renew_every / 4, 0.05),
            on_lost=on_lost,
            not_after=self.not_after,
        )


def release_quietly(store: LeaseStore, held: HeldLease) -> None:
    """Release a lease that is still ours; log (not raise) a failure: it expires anyway."""
    if held.lost.is_set():
        return
    held._mark_lost("released")
    try:
        store.release(held.lease)
    except Exception as exc:
        log.warning(
            "cloudlease: release of %r failed (%s); it expires by itself at its ttl",
            held.name,
            exc,
        )


@contextmanager
def hold(
    store: LeaseStore,
    name: str,
    *,
    ttl: Duration = 30.0,
    wait: Duration | None = None,
    holder: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    renew_every: Duration | None = None,
    on_lost: Callable[[HeldLease], None] | None = None,
    max_duration: Duration | None = None,
) -> Iterator[HeldLease]:
    """Hold lease ``name`` for the duration of the block.

    Acquires (failing fast with LeaseHeld, or waiting up to ``wait`` seconds; ``FOREVER``
    waits without limit), renews every ``renew_every`` seconds (ttl/3) on a daemon thread,
    and releases on exit. If the lease is lost, ``held.lost`` is set, ``on_lost(held)`` is
    called once and ``held.ensure()`` raises LeaseLost; the block is not interrupted.
    ``max_duration`` caps the lease, renewals included, to that many seconds from now (a
    serverless invocation's remaining time), so a killed caller never blocks the next one
    past it.
    """
    plan = HoldPlan.make(
        store,
        name,
        ttl=ttl,
        wait=wait,
        holder=holder,
        metadata=metadata,
        renew_every=renew_every,
        max_duration=max_duration,
    )
    held = plan.acquire()
    keeper = plan.keeper(held, on_lost)
    keeper.start()
    try:
        yield held
    finally:
        keeper.stop()
        release_quietly(store, held)
