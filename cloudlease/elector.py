"""LeaderElector: campaign for a lease, lead while renewing it, observe who leads, resign.

For long-running services. One thread campaigns; each term of leadership is a ``Tenure``
renewed by the process's renewal scheduler (``cloudlease.scheduler``), which steps down before
the lease's local deadline when renewals fail.
Timing is checked once when the elector is built, by the same ``TimingPolicy`` as every front
door, one rule per message (as client-go's leaderelection does).
"""

from __future__ import annotations

import functools
import logging
import random
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from cloudlease._flows import Flow, Pause, Step, run
from cloudlease._validation import Duration, check_holder, check_name
from cloudlease.errors import ClockSkewed, ConfigError, LeaseHeld, StoreUnavailable
from cloudlease.store import LeaseStore, default_holder_id, is_async
from cloudlease.tenure import Tenure, TimingPolicy

if TYPE_CHECKING:
    from cloudlease.async_store import AsyncLeaseStore

log = logging.getLogger("cloudlease")


class ElectorCore:
    """What the sync and async electors share: options checked once, the observed leader,
    callbacks, and one campaign attempt as a flow (``cloudlease._flows``)."""

    #: True for the elector that runs on an event loop (``AsyncLeaderElector``).
    on_loop = False

    def __init__(
        self,
        store: LeaseStore | AsyncLeaseStore,
        name: str,
        *,
        ttl: Duration = 15.0,
        renew_every: Duration | None = None,
        retry_period: Duration = 2.0,
        jitter: float = 0.2,
        holder: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        on_elected: Callable[[Any], None] | None = None,
        on_lost: Callable[[Any], None] | None = None,
        on_leader_changed: Callable[[str | None], None] | None = None,
        rng: random.Random | None = None,
        release_at_exit: bool = True,
    ) -> None:
        where = {"lease": name, "store": store.url}
        if is_async(store) != self.on_loop:
            right = "AsyncLeaderElector" if is_async(store) else "LeaderElector"
            other = "open_async_store" if self.on_loop else "open_store"
            raise ConfigError(
                f"{type(self).__name__} needs the {'async' if self.on_loop else 'sync'} side of "
                f"the store: use {right} with this store, or open the other side of the same "
                f"URL with cloudlease.{other}(url)",
                **where,
            )
        self.store = store
        self.name = check_name(name, store=store.url)
        self.policy = TimingPolicy.for_store(
            store,
            lease=name,
            ttl=ttl,
            renew_every=renew_every,
            retry_every=retry_period,
            jitter=jitter,
        )
        self.holder = check_holder(holder if holder is not None else default_holder_id(), **where)
        self.metadata = metadata
        self.on_elected = on_elected
        self.on_lost = on_lost
        self.on_leader_changed = on_leader_changed
        self._rng = rng or random.Random()
        self.release_at_exit = release_at_exit
        self._leader: str | None = None
        self.held: Any = None
        self._init_side()

    def _init_side(self) -> None:
        """Set up what the side that runs the campaign needs (a thread, or a task)."""

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
        return self.policy.campaign_pause(self._rng)

    # -- campaigning ------------------------------------------------------------------------

    def _new_term(self, side: type[Any]) -> Any:
        return side(
            self.store,
            self.name,
            policy=self.policy,
            holder=self.holder,
            metadata=self.metadata,
            rng=self._rng,
            release_at_exit=self.release_at_exit,
        )

    def _campaign(self, term: Any) -> Flow[bool]:
        """One attempt: True once ``term`` leads, else False after the campaign pause."""
        try:
            yield from term._try_acquire_flow()
            return True
        except LeaseHeld as exc:
            self._observe(exc.record.holder if exc.record else None)
            pause = term.pause_after(exc)
        except StoreUnavailable as exc:
            log.warning("cloudlease: campaign for %r: %s", self.name, exc)
            pause = term.pause_after(exc)
        except ClockSkewed as exc:  # not a leader until the host's clock is fixed
            log.error("cloudlease: campaign for %r: %s", self.name, exc)
            pause = term.pause_after(exc)
        yield Pause(pause)
        return False

    def _took_office(self, term: Any) -> None:
        self.held = term
        self._observe(self.holder)
        self._call(self.on_elected, term)

    def _left_office(self, term: Any) -> None:
        self._call(self.on_lost, term)
        self._observe(None)

    def _ended_by_loss(self, term: Any) -> bool:
        """True (and logged) when the term ended by itself rather than by a resignation."""
        if term.lost.is_set():
            log.warning("cloudlease: leadership of %r ended: %s", self.name, term.reason)
            return True
        return False

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


class LeaderElector(ElectorCore):
    """Elect one leader among the processes that run an elector for the same lease name.

    Callbacks run on the elector's thread: ``on_elected(held)`` when this process becomes
    leader (keep it short, or start your work on another thread and watch ``held.lost``),
    ``on_lost(held)`` when it stops being leader (lost or resigned), and
    ``on_leader_changed(holder)`` whenever the observed leader changes (None when nobody leads).
    A leader whose process exits without ``resign()`` releases the lease at interpreter exit
    (``release_at_exit``; ``cloudlease.release_on_sigterm()`` adds SIGTERM, opt-in).
    On an async store, use ``AsyncLeaderElector`` (``cloudlease.async_elector``).
    """

    def _init_side(self) -> None:
        self._stop = threading.Event()
        self._wake = threading.Event()  # resign(), or the term ended
        self._thread: threading.Thread | None = None

    def start(self) -> LeaderElector:
        """Campaign on a daemon thread; returns self. An elector runs once: starting it again,
        or after ``resign()``, raises ConfigError (build a new one, as client-go does)."""
        if self._thread is not None or self._stop.is_set():
            raise ConfigError(
                "this LeaderElector was already "
                + ("resigned" if self._stop.is_set() else "started")
                + ": an elector runs once; build a new LeaderElector to campaign again",
                lease=self.name,
                store=self.store.url,
            )
        from cloudlease._exit import AT_EXIT
        from cloudlease._threads import start_daemon

        if self.release_at_exit:
            AT_EXIT.add_elector(self)
        self._thread = start_daemon(self.run, f"cloudlease-elector:{self.name}")
        return self

    def run(self) -> None:
        """Campaign, lead, campaign again, until ``resign()``; on the calling thread."""
        while not self._stop.is_set():
            term = self._new_term(Tenure)
            if run(self._campaign(term), functools.partial(self._perform, term)):
                self._lead(term)
        self._observe(None)

    def _perform(self, term: Tenure, step: Step) -> Any:
        if isinstance(step, Pause):  # a campaign pause ends early on resign()
            self.store.clock.wait(self._stop, step.seconds)
            return None
        return term._perform(step)

    def resign(self) -> None:
        """Stop campaigning; if leading, stop renewing and release the lease."""
        self.stop_for_exit(None)

    def stop_for_exit(self, timeout: float | None) -> None:
        """``resign()``, waiting at most ``timeout`` seconds for the elector's thread (the
        process's exit, or SIGTERM with ``release_on_sigterm``, must not hang on a request)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _lead(self, term: Tenure) -> None:
        """Lead while the process's renewal scheduler renews ``term``, until it ends or
        ``resign()``."""
        self._took_office(term)
        self._wake.clear()
        term.on_lost = lambda _: self._wake.set()
        term.start_renewing()
        while not (self._stop.is_set() or term.lost.is_set()):
            self._wake.wait()
            self._wake.clear()
        term.stop_renewing()
        if not self._ended_by_loss(term):
            term.release("resigned")
        self._left_office(term)
