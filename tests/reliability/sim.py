"""A deterministic simulator: threads that take turns on one FakeClock, under a seeded scheduler.

Every task (a contender's worker, its keeper, the sweeper, the prober) is a real thread running
the library's real code, but only the task holding the baton runs. A task gives the baton back
whenever it waits on its clock (``SimClock.wait``: a renewal timer, a retry pause, an injected
latency) and at every yield point of ``SimStore`` (a request in flight). The scheduler then picks
the next runnable task with its seeded ``random.Random``; when none is runnable it advances the
FakeClock to the earliest wake-up. So a seed fixes the whole interleaving, and a run replays.

Freezing a group (a GC pause, a frozen Lambda) keeps its tasks from running until the freeze
ends; killing a group (a crash) unwinds its threads with ``Killed`` the next time they run,
without running any more requests.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from cloudlease.testing.clock import FakeClock

_REAL_TIMEOUT = 120.0  # real seconds a handoff may take before the run is declared hung


class Killed(BaseException):
    """Raised inside a killed task: its process crashed (not an Exception: nothing catches it)."""


class Hung(RuntimeError):
    """A task kept the baton too long in real time (a deadlock in the harness or the store)."""


@dataclass(eq=False)
class Task:
    name: str
    group: str
    body: Callable[[], None]
    go: threading.Event = field(default_factory=threading.Event)
    wake_at: float | None = None  # None: runnable now
    event: threading.Event | None = None
    done: threading.Event = field(default_factory=threading.Event)
    killed: bool = False
    error: BaseException | None = None
    thread: threading.Thread | None = None

    def runnable(self, now: float) -> bool:
        if self.done.is_set():
            return False
        if self.killed or self.wake_at is None or now >= self.wake_at:
            return True
        return self.event is not None and self.event.is_set()


class Sim:
    """The scheduler. ``spawn`` tasks, then ``run`` until they are done (or ``until``)."""

    def __init__(self, clock: FakeClock, rng: random.Random) -> None:
        self.clock = clock
        self.rng = rng
        self.tasks: list[Task] = []
        self.frozen: dict[str, float] = {}  # group -> frozen until
        self.killed_groups: set[str] = set()
        self._back = threading.Event()
        self._local = threading.local()
        self.on_tick: list[Callable[[], None]] = []  # run before each step (e.g. server expiry)

    def now(self) -> float:
        return self.clock.monotonic()

    # -- inside tasks -------------------------------------------------------------------------

    def current(self) -> Task | None:
        task: Task | None = getattr(self._local, "task", None)
        return task

    def wait(self, event: threading.Event | None, timeout: float) -> bool:
        """Sleep ``timeout`` fake seconds (or until ``event``), letting others run meanwhile."""
        task = self.current()
        if task is None:
            raise RuntimeError("Sim.wait called outside a simulated task")
        task.wake_at = self.now() + max(0.0, timeout)
        task.event = event
        self._yield(task)
        return event is not None and event.is_set()

    def yield_now(self) -> None:
        """Let other runnable tasks go first (a request in flight for no measurable time)."""
        self.wait(None, 0.0)

    def _yield(self, task: Task) -> None:
        task.go.clear()
        self._back.set()
        task.go.wait()
        task.wake_at, task.event = None, None
        if task.killed:
            raise Killed(task.name)

    # -- the scheduler ----------------------------------------------------------------------

    def spawn(self, name: str, body: Callable[[], None], group: str | None = None) -> Task:
        """A task that starts when the scheduler first picks it."""
        task = Task(name, group or name, body)

        def main() -> None:
            self._local.task = task
            task.go.wait()
            try:
                if not task.killed:
                    body()
            except Killed:
                pass
            except BaseException as exc:  # reported by run()
                task.error = exc
            finally:
                task.done.set()
                self._back.set()

        task.thread = threading.Thread(target=main, name=f"sim:{name}", daemon=True)
        self.tasks.append(task)
        task.thread.start()
        return task

    def freeze(self, group: str, seconds: float) -> None:
        self.frozen[group] = max(self.frozen.get(group, 0.0), self.now() + seconds)

    def kill(self, group: str) -> None:
        self.killed_groups.add(group)
        for task in self.tasks:
            if task.group == group:
                task.killed = True

    def alive(self, group: str) -> bool:
        return any(t.group == group and not t.done.is_set() for t in self.tasks)

    def _is_frozen(self, task: Task, now: float) -> bool:
        return not task.killed and self.frozen.get(task.group, 0.0) > now

    def step(self, chooser: Callable[[list[Task]], Task] | None = None) -> bool:
        """Run one task until it yields; advance time if none can run. False when all done."""
        for hook in self.on_tick:
            hook()
        now = self.now()
        live = [t for t in self.tasks if not t.done.is_set()]
        if not live:
            return False
        ready = [t for t in live if t.runnable(now) and not self._is_frozen(t, now)]
        if not ready:
            wakes = [t.wake_at for t in live if t.wake_at is not None]
            wakes += [until for until in self.frozen.values() if until > now]
            upcoming = [w for w in wakes if w > now]
            if not upcoming:
                raise Hung(f"no task can ever run again: {[t.name for t in live]}")
            self.clock.advance(min(upcoming) - now)
            return True
        task = chooser(ready) if chooser else self.rng.choice(ready)
        self._back.clear()
        task.go.set()
        if not self._back.wait(_REAL_TIMEOUT):
            raise Hung(f"task {task.name} kept running for {_REAL_TIMEOUT}s of real time")
        if task.error is not None:
            error, task.error = task.error, None
            raise error
        return True

    def run(self, between: Callable[[], None] | None = None) -> None:
        """Step until every task is done; ``between`` runs before each step (fault decisions)."""
        while True:
            if between is not None:
                between()
            if not self.step():
                return

    def shutdown(self) -> None:
        """Unwind every task still alive (after a failure), so no thread is left waiting."""
        for task in self.tasks:
            if not task.done.is_set():
                task.killed = True
                task.go.set()
                task.done.wait(5)


class SimClock:
    """A contender's view of the simulation's FakeClock: its own wall-clock skew, shared
    monotonic time, and waits that hand the baton back to the scheduler."""

    def __init__(self, sim: Sim, skew_ms: int = 0) -> None:
        self.sim = sim
        self.skew_ms = skew_ms

    def wall_ms(self) -> int:
        return self.sim.clock.wall_ms() + self.skew_ms

    def monotonic(self) -> float:
        return self.sim.clock.monotonic()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        return self.sim.wait(event, timeout)
