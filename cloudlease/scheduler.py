"""One renewal scheduler per process: a heap of deadlines on one thread, a small pool of workers.

Every lease renewed in the background (``hold()``, ``@single_runner``, ``LeaderElector``,
``cloudlease run``) is registered here instead of getting a thread of its own. The scheduler
thread sleeps on the Clock until the earliest ``next_wakeup()`` of its leases, then hands each
due lease to a worker that calls its ``step()``: the Tenure decides (renew, retry, step down,
fire ``lost`` and ``on_lost``), this module only waits and dispatches.

Why a pool, not a timeout on every request: a store is any ``LeaseStore`` (a user's own, a
SQLite file locked by another process, an SDK whose retries outlast a timeout), so no single
request can be bounded from here; a worker that has been blocked in one step for ``stall``
seconds is left to it, and another worker is started for the leases queued behind it, up to
``max_workers``. With fast stores one worker serves every lease: three threads in all with the
caller's. A lease still ends at its local deadline whatever the pool does: ``ensure()`` and
``remaining()`` read the monotonic deadline, not the scheduler. ``stall`` is counted in real
seconds (how long a thread has been blocked), never on the Clock: it decides only when to add
a worker, never anything about a lease; the scheduler sleeps on the Clock only while no step
that has not stalled is in progress, so on a FakeClock a sleeping scheduler means the
renewals due are done.

One scheduler per Clock (the system clock in production; a test's FakeClock gets its own). It
starts with its first lease, stops (threads joined) when the last one leaves, at interpreter
exit, and is forgotten in a child after ``fork()``: the child never renews its parent's leases.
"""

from __future__ import annotations

import atexit
import heapq
import itertools
import os
import threading
import time
import weakref
from collections import deque

from cloudlease._log import log
from cloudlease._threads import start_daemon

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cloudlease.clock import Clock
    from cloudlease.renewal import Renewable

#: Real seconds a step may run (or wait in the queue) before it counts as stalled.
STALL = 0.25
#: At most this many workers: one, plus one per stalled step (slow store requests).
MAX_WORKERS = 4
#: Real seconds an extra worker (beyond the first) stays idle before it leaves.
IDLE_EXIT = 10.0
#: The longest the scheduler thread sleeps at once (it is woken sooner when work arrives).
LONGEST_SLEEP = 60.0
THREAD_PREFIX = "cloudlease-keeper"

WAITING, QUEUED, RUNNING, DONE = "waiting", "queued", "running", "done"


class Registration:
    """One lease served by a scheduler; ``stop()`` takes it off (waiting for its step)."""

    __slots__ = (
        "cancelled",
        "generation",
        "queued_at",
        "renewable",
        "scheduler",
        "state",
        "worker",
    )

    def __init__(self, scheduler: RenewalScheduler, renewable: Renewable, generation: int) -> None:
        self.scheduler = scheduler
        self.renewable = renewable
        self.generation = generation
        self.state = WAITING
        self.cancelled = False
        self.queued_at = 0.0
        self.worker: threading.Thread | None = None

    def stop(self) -> None:
        """Stop renewing; returns once a step in progress has finished (unless called from
        that step), and once the scheduler's threads are gone if this was its last lease."""
        self.scheduler.cancel(self)


class _Worker:
    __slots__ = ("current", "since", "thread")

    def __init__(self) -> None:
        self.current: Registration | None = None
        self.since = 0.0
        self.thread: threading.Thread | None = None


class RenewalScheduler:
    """Drives the ``step()`` of many renewables from one thread and a bounded worker pool."""

    def __init__(
        self, clock: Clock, *, max_workers: int = MAX_WORKERS, stall: float = STALL
    ) -> None:
        self.clock = clock
        self.max_workers = max_workers
        self.stall = stall
        self._generation = 0
        self._reset()

    def _reset(self) -> None:
        """Empty state, fresh locks (also in a child after fork, where the threads are gone)."""
        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # workers wait for due leases
        self._progress = threading.Condition(self._lock)  # a step finished
        self._wake = threading.Event()  # interrupts the scheduler's sleep on the clock
        self._heap: list[tuple[float, int, Registration]] = []
        self._ready: deque[Registration] = deque()
        self._workers: list[_Worker] = []
        self._idle = 0
        self._count = 0
        self._generation += 1
        self._thread: threading.Thread | None = None
        self._retired: list[threading.Thread] = []
        self._wake_at = 0.0
        self._seq = itertools.count()
        self._names = itertools.count(1)

    # -- the leases -------------------------------------------------------------------------

    def add(self, renewable: Renewable) -> Registration:
        """Serve ``renewable`` from now on (starting the scheduler thread if needed)."""
        with self._lock:
            reg = Registration(self, renewable, self._generation)
            self._count += 1
            self._push(reg, renewable.next_wakeup())
            if self._thread is None:
                self._thread = self._start(self._run, THREAD_PREFIX)
        return reg

    def cancel(self, reg: Registration) -> None:
        me = threading.current_thread()
        with self._lock:
            if reg.generation == self._generation and reg.state != DONE:
                reg.cancelled = True
                if reg.state == RUNNING and reg.worker is me:
                    return  # stopped from its own step: dropped when the step returns
                while reg.state == RUNNING:
                    self._progress.wait()
                if reg.state == QUEUED:
                    self._ready.remove(reg)
                if reg.state != DONE:
                    self._drop(reg)
            retired, self._retired = self._retired, []
        for thread in retired:
            if thread is not me:
                thread.join()

    def threads(self) -> int:
        """How many threads this scheduler runs now (the scheduler and its workers)."""
        with self._lock:
            return (self._thread is not None) + len(self._workers)

    def _push(self, reg: Registration, due: float) -> None:
        reg.state = WAITING
        heapq.heappush(self._heap, (due, next(self._seq), reg))
        if due < self._wake_at:  # sooner than the scheduler means to look again
            self._wake.set()
            self._progress.notify_all()

    def _drop(self, reg: Registration) -> None:
        """Under the lock: ``reg`` is no longer served; the last one ends the generation."""
        reg.state = DONE
        self._count -= 1
        if self._count == 0:
            self._end_generation()

    def _end_generation(self) -> None:
        """Under the lock: every thread of this generation leaves (joined by ``cancel``)."""
        self._generation += 1
        self._count = 0
        self._heap.clear()
        self._ready.clear()
        if self._thread is not None:
            self._retired.append(self._thread)
        self._retired.extend(w.thread for w in self._workers if w.thread is not None)
        self._thread = None
        self._workers = []
        self._wake.set()
        self._work.notify_all()
        self._progress.notify_all()

    def stop(self) -> None:
        """Stop serving every lease (at interpreter exit); joins the threads briefly."""
        with self._lock:
            for _, _, reg in self._heap:
                reg.state = DONE
            self._end_generation()
            retired, self._retired = self._retired, []
        for thread in retired:
            if thread is not threading.current_thread():
                thread.join(timeout=1.0)

    # -- the scheduler thread ---------------------------------------------------------------

    def _start(self, target: Any, name: str, *args: Any) -> threading.Thread:
        return start_daemon(target, name, self._generation, *args)

    def _run(self, generation: int) -> None:
        clock = self.clock
        while True:
            with self._lock:
                if generation != self._generation:
                    return
                now = clock.monotonic()
                self._dispatch(now)
                check_at = self._watch_pool()
                next_due = self._heap[0][0] if self._heap else now + LONGEST_SLEEP
                self._wake_at = next_due
                if check_at is not None:
                    # A step is young: wait for the pool, not the clock, so that a scheduler
                    # asleep on the clock means every step that has not stalled is finished.
                    pause = min(check_at - time.monotonic(), next_due - now)
                    self._progress.wait(max(pause, 0.001))
                    continue
                self._wake.clear()
            clock.wait(self._wake, min(next_due - now, LONGEST_SLEEP))

    def _dispatch(self, now: float) -> None:
        """Under the lock: queue every lease that is due for a worker."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, _, reg = heapq.heappop(heap)
            if reg.state != WAITING:
                continue  # stopped meanwhile
            reg.state = QUEUED
            reg.queued_at = time.monotonic()
            self._ready.append(reg)
            if self._idle:
                self._work.notify()

    def _watch_pool(self) -> float | None:
        """Under the lock: start a worker for queued leases when none is free (the first at
        once, more while the queue's head has waited ``stall``: a step is blocked); return
        the real instant of the next such check while a step is young, else None."""
        real_now = time.monotonic()
        head = self._ready[0].queued_at if self._ready else None
        if head is not None and self._idle == 0:
            stalled = real_now - head >= self.stall
            if not self._workers or (stalled and len(self._workers) < self.max_workers):
                worker = _Worker()
                self._workers.append(worker)
                name = f"{THREAD_PREFIX}-worker-{next(self._names)}"
                worker.thread = self._start(self._serve, name, worker)
        starts = [w.since for w in self._workers if w.current is not None]
        if head is not None:
            starts.append(head)
        young = [t + self.stall for t in starts if t + self.stall > real_now]
        return min(young) if young else None

    # -- the workers ------------------------------------------------------------------------

    def _serve(self, generation: int, worker: _Worker) -> None:
        me = threading.current_thread()
        with self._lock:
            while generation == self._generation:
                if not self._ready:
                    self._idle += 1
                    woken = self._work.wait(IDLE_EXIT)
                    self._idle -= 1
                    if not woken and not self._ready and len(self._workers) > 1:
                        self._workers.remove(worker)  # an extra worker, no longer needed
                        return
                    continue
                reg = self._ready.popleft()
                reg.state, reg.worker = RUNNING, me
                worker.current, worker.since = reg, time.monotonic()
                self._lock.release()
                try:
                    alive = _step(reg.renewable)
                finally:
                    self._lock.acquire()
                worker.current, reg.worker = None, None
                if generation != self._generation:
                    reg.state = DONE
                elif reg.cancelled or not alive:
                    self._drop(reg)
                else:
                    self._push(reg, reg.renewable.next_wakeup())
                if reg.cancelled or not (self._ready or any(w.current for w in self._workers)):
                    self._progress.notify_all()  # a waiting stop(), or the pool is idle


def _step(renewable: Renewable) -> bool:
    try:
        return renewable.step()
    except BaseException:  # step() handles store errors; anything else must not kill a worker
        log.exception("cloudlease: renewal of %r raised; no longer renewed", renewable.name)
        return False


# -- one scheduler per clock ----------------------------------------------------------------

_SCHEDULERS: weakref.WeakValueDictionary[int, RenewalScheduler] = weakref.WeakValueDictionary()
_REGISTRY = threading.Lock()


def scheduler_for(clock: Clock) -> RenewalScheduler:
    """The scheduler of ``clock`` (made on first use; the system clock's is the process's)."""
    with _REGISTRY:
        found = _SCHEDULERS.get(id(clock))
        if found is None or found.clock is not clock:
            found = RenewalScheduler(clock)
            _SCHEDULERS[id(clock)] = found
        return found


def schedule(renewable: Renewable, clock: Clock) -> Registration:
    """Renew ``renewable`` in the background on ``clock``'s scheduler; ``stop()`` the result."""
    return scheduler_for(clock).add(renewable)


def _stop_all() -> None:
    for found in list(_SCHEDULERS.values()):
        found.stop()


def _after_fork_in_child() -> None:
    """The child has none of the parent's threads: forget every lease they served."""
    global _REGISTRY
    _REGISTRY = threading.Lock()
    for found in list(_SCHEDULERS.values()):
        found._reset()


atexit.register(_stop_all)
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
