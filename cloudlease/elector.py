"""LeaderElector: campaign for a lease, lead while renewing it, observe who leads, resign.

For long-running services. One thread campaigns with jittered retries; once elected it renews
through the same Keeper as ``hold()`` and steps down before the lease's local deadline when
renewals fail. Timing is validated when the elector is built, one rule per message
(as client-go's leaderelection does).
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Mapping
from typing import Any

from cloudlease._validation import Duration, check_holder, check_name, to_seconds
from cloudlease.errors import ConfigError, LeaseHeld, StoreUnavailable
from cloudlease.keeper import HeldLease, Keeper, live_grant
from cloudlease.store import LeaseStore, default_holder_id

log = logging.getLogger("cloudlease")


class LeaderElector:
    """Elect one leader among the processes that run an elector for the same lease name.

    Callbacks run on the elector's thread: ``on_elected(held)`` when this process becomes
    leader (keep it short, or start your work on another thread and watch ``held.lost``),
    ``on_lost(held)`` when it stops being leader (lost or resigned), and
    ``on_leader_changed(holder)`` whenever the observed leader changes (None when nobody leads).
    """

    def __init__(
        self,
        store: LeaseStore,
        name: str,
        *,
        ttl: Duration = 15.0,
        renew_every: Duration | None = None,
        retry_period: Duration = 2.0,
        jitter: float = 0.2,
        holder: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        on_elected: Callable[[HeldLease], None] | None = None,
        on_lost: Callable[[HeldLease], None] | None = None,
        on_leader_changed: Callable[[str | None], None] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        where = {"lease": name, "store": store.url}
        self.store = store
        self.name = check_name(name, store=store.url)
        self.ttl = to_seconds(ttl, what="ttl", lease=name, store=store.url)
        self.renew_every = (
            self.ttl / 3
            if renew_every is None
            else to_seconds(renew_every, what="renew_every", lease=name, store=store.url)
        )
        self.retry_period = to_seconds(
            retry_period, what="retry_period", lease=name, store=store.url
        )
        if not isinstance(jitter, (int, float)) or not 0 <= jitter < 1:
            raise ConfigError(f"jitter must be in [0, 1), got {jitter!r}", **where)
        self.jitter = float(jitter)
        usable = self.ttl - store.safety_margin_for(self.ttl)
        if self.renew_every >= usable:
            raise ConfigError(
                f"renew_every ({self.renew_every:g}s) must be shorter than ttl minus the safety "
                f"margin ({usable:g}s), or the leader loses the lease before renewing it",
                **where,
            )
        if self.retry_period * (1 + self.jitter) > self.ttl:
            raise ConfigError(
                f"retry_period with jitter ({self.retry_period * (1 + self.jitter):g}s) must not "
                f"exceed ttl ({self.ttl:g}s), or a free lease waits longer than it lasts",
                **where,
            )
        self.holder = check_holder(holder if holder is not None else default_holder_id(), **where)
        self.metadata = metadata
        self.on_elected = on_elected
        self.on_lost = on_lost
        self.on_leader_changed = on_leader_changed
        self._rng = rng or random.Random()
        self._stop = threading.Event()
        self._keeper: Keeper | None = None
        self._thread: threading.Thread | None = None
        self._leader: str | None = None
        self.held: HeldLease | None = None

    # -- observing --------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        """True while this process holds the lease with time left before its deadline."""
        held = self.held
        return held is not None and held.is_valid()

    @property
    def leader(self) -> str | None:
        """The holder last observed leading (this process's id while it leads)."""
        return self._leader

    def next_retry_delay(self) -> float:
        """One campaign pause: ``retry_period`` stretched by up to ``jitter`` (never shrunk)."""
        return self.retry_period * (1 + self._rng.uniform(0, self.jitter))

    # -- running ----------------------------------------------------------------------------

    def start(self) -> LeaderElector:
        """Campaign on a daemon thread; returns self."""
        self._thread = threading.Thread(
            target=self.run, name=f"cloudlease-elector:{self.name}", daemon=True
        )
        self._thread.start()
        return self

    def run(self) -> None:
        """Campaign, lead, campaign again, until ``resign()``; on the calling thread."""
        clock = self.store.clock
        while not self._stop.is_set():
            try:
                lease = live_grant(
                    self.store, self.store.acquire(self.name, self.holder, self.ttl, self.metadata)
                )
            except LeaseHeld as exc:
                self._observe(exc.record.holder if exc.record else None)
                clock.wait(self._stop, self.next_retry_delay())
                continue
            except StoreUnavailable as exc:
                log.warning("cloudlease: campaign for %r: %s", self.name, exc)
                clock.wait(self._stop, self.next_retry_delay())
                continue
            self._lead(HeldLease(lease))
        self._observe(None)

    def resign(self) -> None:
        """Stop campaigning; if leading, stop renewing and release the lease."""
        self._stop.set()
        keeper = self._keeper
        if keeper is not None:
            keeper.stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _lead(self, held: HeldLease) -> None:
        self.held = held
        keeper = Keeper(
            self.store,
            held,
            renew_every=self.renew_every,
            retry_every=max(self.renew_every / 4, 0.05),
        )
        self._keeper = keeper
        if self._stop.is_set():
            keeper.stop_event.set()
        self._observe(self.holder)
        self._call(self.on_elected, held)
        keeper.run()
        if not held.lost.is_set():
            held._mark_lost("resigned")
            try:
                self.store.release(held.lease)
            except Exception as exc:
                log.warning("cloudlease: release of %r on resign failed: %s", self.name, exc)
        else:
            log.warning("cloudlease: leadership of %r ended: %s", self.name, held.reason)
        self._keeper = None
        self._call(self.on_lost, held)
        self._observe(None)

    def _observe(self, leader: str | None) -> None:
        if leader != self._leader:
            self._leader = leader
            self._call(self.on_leader_changed, leader)

    def _call(self, callback: Callable[[Any], None] | None, argument: Any) -> None:
        if callback is None:
            return
        try:
            callback(argument)
        except Exception:
            log.exception("cloudlease: elector callback %r raised", callback)
