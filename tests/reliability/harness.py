"""Randomized histories of one lease: contenders, faults, and the checks, from one seed.

``run_history(backend, seed)`` builds a simulation (``sim.py``) on a FakeClock: N contenders,
each with its own store object on the same backend and its own wall-clock skew within the
allowance, run random programs with the library's own lifecycle (a ``Tenure`` campaigns,
renews and lets go, on the same ``TimingPolicy`` as every front door) and write to a fenced
sink while they believe they hold the lease. Meanwhile the scheduler freezes contenders past
the ttl (a GC pause, a frozen Lambda) and crashes them (replaced by a new incarnation),
``SimStore`` injects lost responses, transient errors and latency, the backend may throttle,
and a sweeper deletes records that have been free for longer than the purge delay (a TTL
sweep). At the horizon every contender stops; a fresh one must then acquire within the
stuck-lease bound. The history is checked by ``cloudlease.testing.history.check_history``.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Protocol

from cloudlease._slots import slot_record
from cloudlease.errors import LeaseHeld, StoreUnavailable
from cloudlease.renewal import drive
from cloudlease.store import BaseStore
from cloudlease.tenure import Tenure, TimingPolicy
from cloudlease.testing.clock import FakeClock
from cloudlease.testing.history import Event, History, Violation, check_history, excerpt
from cloudlease.testing.semaphores import check_semaphore_history, most_at_once
from tests.reliability.sim import Sim, SimClock
from tests.reliability.simstore import SimStore

_RUNS = itertools.count(1)


class Backend(Protocol):
    """One store under test: opens stores for contenders, and knows its own quirks."""

    name: str
    ttl: float
    #: Expiry is the server's (Azure): the harness frees the lease at apply + ttl instead.
    server_expiry: bool

    def open(self, clock: SimClock, skew_allowance: float) -> BaseStore:
        """A new store object (own client where cheap) on the shared backend."""
        ...

    def begin(self, sim: Sim, history: History, rng: random.Random, throttle_rate: float) -> None:
        """Per-history hooks (throttling on the wire); a no-op where the store has none."""
        ...

    def expire(self, store: BaseStore, name: str) -> None:
        """Let the server free ``name`` now (server-side expiry only)."""
        ...

    def end(self) -> None:
        """Close what this history opened (shared clients stay open)."""
        ...


@dataclass(frozen=True)
class Profile:
    """The knobs of one family of histories; durations are multiples of the ttl."""

    contenders: int = 4  # at most; each history draws 2..contenders
    horizon: float = 16.0  # x ttl of contention before everybody stops
    quiet: float = 0.6  # chance of a quiet window of 8 ttl (nobody campaigns: sweeps happen)
    skew: float = 0.25  # skew allowance, x ttl; each clock is off by up to half of it
    latency: float = 1 / 40  # max one-way request latency, x ttl
    lost_rate: float = 0.05
    transient_rate: float = 0.05
    throttle_rate: float = 0.05
    freeze_every: float = 2.5  # mean fake time between freezes, x ttl
    crash_every: float = 4.0  # mean fake time between crashes, x ttl
    # A free record is swept this long (x ttl) past the skew allowance. A record created afresh
    # takes the acquirer's epoch ms as its token, so the sweep must come later than any acquire
    # can land after reading its clock: DynamoDB and Firestore purge after 7 days, and their
    # services refuse requests signed minutes earlier. Here freezes can chain, so the sweeper
    # also waits while an acquire sent more than ``purge_after`` ago is still on its way
    # (``sweep_waits``); test_checker shows the token regression when it does not.
    purge_after: float = 3.0
    sweep_waits: bool = True
    # A semaphore of this many slots (1: one lease); each history draws slots+1..contenders
    # contenders, checked by ``check_semaphore_history`` when slots > 1.
    slots: int = 1
    # What the contenders believe ``slots`` is (None: the truth); a test_checker mutant.
    believed_slots: int | None = None
    # An operator steals the lease (``Tenure.steal``, as ``cloudlease steal``) about this
    # often (x ttl; None: never), through a store with the same faults, then works with it as
    # a contender would; one lease only (a semaphore's slot is stolen by its record's name).
    steal_every: float | None = None


@dataclass
class Outcome:
    """A checked history: its seed, events, violations and what was injected."""

    backend: str
    seed: int
    events: list[Event]
    problems: list[Violation]
    faults: Counter[str] = field(default_factory=Counter)

    def report(self) -> str:
        """The seed, each violation and a minimal readable history around it."""
        lines = [f"{self.backend} history seed {self.seed}: {len(self.problems)} violation(s)"]
        for problem in self.problems[:3]:
            lines += [f"  {problem}", excerpt(self.events, problem)]
        lines.append(f"replay: CLOUDLEASE_SEED={self.seed} (backend {self.backend})")
        return "\n".join(lines)


class TimedSink:
    """The fenced resource of one lease (of one slot, on a semaphore): accepts a token at
    least as new as the newest accepted one."""

    def __init__(self, history: History, lease: str) -> None:
        self.history = history
        self.lease = lease
        self.newest: int | None = None

    def write(self, token: int, holder: str) -> bool:
        accepted = self.newest is None or token >= self.newest
        if accepted:
            self.newest = token
        self.history.record(holder, "write", token=token, ok=accepted, lease=self.lease)
        return accepted


class _Run:
    """The state of one history while it runs."""

    def __init__(self, backend: Backend, seed: int, profile: Profile) -> None:
        self.backend = backend
        self.seed = seed
        self.p = profile
        self.rng = random.Random(seed)
        self.clock = FakeClock()
        self.sim = Sim(self.clock, random.Random(self.rng.getrandbits(64)))
        self.history = History(self.sim.now, seed)
        self.ttl = backend.ttl
        self.allowance = profile.skew * self.ttl
        self.retry = self.ttl / 3
        self.lease = f"h{seed}-{next(_RUNS)}"  # fresh record, even when a seed is replayed
        slots = profile.believed_slots or profile.slots  # the records the contenders use
        self.records = [slot_record(self.lease, slot, slots) for slot in range(slots)]
        self.sinks = {name: TimedSink(self.history, name) for name in self.records}
        self.horizon = self.clock.monotonic() + profile.horizon * self.ttl
        self.attempts = itertools.count(1)
        self.stores: list[SimStore] = []
        self.pending: dict[object, float] = {}  # acquires on their way: sent at
        self.skews: list[int] = []
        self.server_until: dict[str, float] = {}  # server-side expiry, per record
        self.admin: BaseStore  # opened in run(), once the backend knows this history's way in
        self.next_freeze = self.clock.monotonic() + self._gap(profile.freeze_every)
        self.next_crash = self.clock.monotonic() + self._gap(profile.crash_every)
        self.incarnations = itertools.count(1)
        start = self.clock.monotonic() + self.rng.uniform(2, 6) * self.ttl
        self.quiet = (start, start + 8 * self.ttl) if self.rng.random() < profile.quiet else None

    def _gap(self, mean: float) -> float:
        return self.rng.expovariate(1 / (mean * self.ttl))

    # -- stores -----------------------------------------------------------------------------

    def store_for(self, actor: str, skew_ms: int, faults: bool) -> SimStore:
        p = self.p
        # Without faults (the probe): off the wire too, as the harness's own store.
        opener = self.backend.open if faults else getattr(self.backend, "open_admin", None)
        store = SimStore(
            (opener or self.backend.open)(SimClock(self.sim, skew_ms), self.allowance),
            self.sim,
            self.history,
            actor,
            attempts=self.attempts,
            latency=p.latency * self.ttl if faults else 0.0,
            lost_rate=p.lost_rate if faults else 0.0,
            transient_rate=p.transient_rate if faults else 0.0,
            rng=random.Random(self.rng.getrandbits(64)),
            on_applied=self._applied if self.backend.server_expiry else None,
            pending=self.pending,
            truth=self.admin,
        )
        self.stores.append(store)
        return store

    def _applied(self, op: str, name: str, ttl_ms: int) -> None:
        """Server-side expiry: the server frees the lease ttl after it applied the request.

        ``op?``: the store's request failed, yet the server may have applied it (a reply lost
        at the wire, after the SDK's retries): the server may hold the lease until ttl from
        now, so it is freed no earlier (later only delays contenders, within the stuck bound).
        """
        until = self.sim.now() + math.floor(ttl_ms / 1000)
        if op == "release":
            self.server_until.pop(name, None)
        elif op.endswith("?"):
            if not op.startswith("release"):
                self.server_until[name] = max(self.server_until.get(name, until), until)
        else:
            self.server_until[name] = until

    def _server_tick(self) -> None:
        for name, until in sorted(self.server_until.items()):
            if self.sim.now() >= until:
                del self.server_until[name]
                self.backend.expire(self.admin, name)
                self.history.record("server", "expired", lease=name)

    def skew_ms(self) -> int:
        half = self.allowance * 1000 / 2
        return round(self.rng.uniform(-half, half))

    # -- programs ---------------------------------------------------------------------------

    def spawn_contender(self) -> None:
        holder = f"c{next(self.incarnations)}"
        skew = self.skew_ms()
        self.skews.append(skew)
        store = self.store_for(holder, skew, faults=True)
        rng = random.Random(self.rng.getrandbits(64))
        self.sim.spawn(holder, lambda: self.contend(store, holder, rng), group=holder)

    def contend(self, store: SimStore, holder: str, rng: random.Random) -> None:
        sim, ttl = self.sim, self.ttl
        while sim.now() < self.horizon:
            if self.quiet and self.quiet[0] <= sim.now() < self.quiet[1]:
                sim.wait(None, self.quiet[1] - sim.now())
                continue
            held = self.tenure(store, holder, wait=rng.uniform(0, ttl), rng=rng)
            try:
                held.acquire()
            except (LeaseHeld, StoreUnavailable):
                continue
            self.work(store, held, rng)
            idle = rng.uniform(ttl, 6 * ttl) if rng.random() < 0.3 else rng.uniform(0, ttl / 2)
            sim.wait(None, idle)  # sometimes long enough for the record to be swept

    def steal_now_and_then(self, store: SimStore, rng: random.Random) -> None:
        """The operator: now and then, steal the lease and work with it."""
        assert self.p.steal_every is not None
        while True:
            self.sim.wait(None, rng.expovariate(1 / (self.p.steal_every * self.ttl)))
            if self.sim.now() >= self.horizon:
                return
            held = self.tenure(store, "operator", wait=0, rng=rng)
            try:
                held.steal()  # StealConflict is a LeaseHeld
            except (LeaseHeld, StoreUnavailable):
                continue
            self.work(store, held, rng)

    def work(self, store: SimStore, held: Tenure, rng: random.Random) -> None:
        """Hold ``held`` (just granted) for a few fenced writes while renewing, then release
        it or walk away."""
        sim, ttl, holder, lease = self.sim, self.ttl, held.holder, held.lease
        name = lease.name
        self.history.record(
            holder, "granted", token=lease.token, deadline=lease.deadline, lease=name
        )
        stop = threading.Event()
        renewing = sim.spawn(
            f"{holder}/keeper", functools.partial(drive, held, store.clock, stop), group=holder
        )
        for _ in range(rng.randint(1, 6)):
            sim.wait(None, rng.uniform(0, ttl / 2))  # work between writes
            if not held.is_valid():
                break
            self.history.record(
                holder, "claim", token=held.token, deadline=held.lease.deadline, lease=name
            )
            sim.wait(None, rng.uniform(0, self.p.latency * ttl))  # the write in flight
            self.sinks[name].write(held.token, holder)
        self.history.record(holder, "stopped", token=held.token, lease=name)
        stop.set()
        sim.wait(renewing.done, math.inf)
        if rng.random() < 0.85:
            held.release()
        else:
            held.abandon("walked away without releasing")

    def tenure(self, store: SimStore, holder: str, *, wait: float, rng: random.Random) -> Tenure:
        """A tenure as every front door builds one: renew every ttl/3, campaign every retry."""
        policy = TimingPolicy.for_store(
            store, lease=self.lease, ttl=self.ttl, retry_every=self.retry
        )
        slots = self.p.believed_slots or self.p.slots
        return Tenure(
            store, self.lease, policy=policy, holder=holder, wait=wait, rng=rng, slots=slots
        )

    def sweep(self) -> None:
        """A TTL sweep: deletes the record once it has been free past the purge delay."""
        purge_ms = round((self.allowance + self.p.purge_after * self.ttl) * 1000)
        clock = SimClock(self.sim)
        while self.sim.now() < self.horizon:
            self.sim.wait(None, self.rng.uniform(0.1, 0.6) * self.ttl)
            for name in self.records:
                record = self.admin.get(name)
                if record is None or (record.holder and self.backend.server_expiry):
                    continue  # nothing to sweep, or a blob lease only the server frees
                if clock.wall_ms() <= record.expires_at + purge_ms:
                    continue
                oldest = min(self.pending.values(), default=self.sim.now())
                if self.p.sweep_waits and self.sim.now() - oldest > self.p.purge_after * self.ttl:
                    continue  # an acquire older than the purge delay is still on its way
                self.admin.delete_record(name)
                self.history.record("sweeper", "deleted", token=record.token, lease=name)

    def probe(self) -> None:
        """Once every contender stopped: acquire within the stuck bound (every slot of a
        semaphore, one prober each)."""
        skew = self.skew_ms()
        store = self.store_for("probe", skew, faults=False)
        if self.backend.server_expiry:
            bound = self.ttl + 1.2 * self.retry + 0.01
        else:
            worst = max(0, max(self.skews) - skew) / 1000
            bound = self.ttl + self.allowance + worst + 1.2 * self.retry + 0.01
        self.history.record("probe", "all_stopped", deadline=bound)
        rng = random.Random(self.rng.getrandbits(64))  # seeded: the history replays
        # On a semaphore, one prober per slot: no slot may stay stuck past the bound.
        probers = ["probe"] + [f"probe{k}" for k in range(2, self.p.slots + 1)]
        probes = [self.tenure(store, name, wait=3 * bound, rng=rng) for name in probers]
        for name, probe in zip(probers, probes, strict=True):
            probe.acquire()
            self.history.record(name, "probe", token=probe.token, lease=probe.lease_name)
        for probe in probes:
            probe.release()

    # -- the scheduler's own faults ---------------------------------------------------------

    def between(self) -> None:
        now = self.sim.now()
        if now >= self.next_freeze:
            self.next_freeze = now + self._gap(self.p.freeze_every)
            victims = self._live_contenders()
            if victims:
                victim = self.rng.choice(victims)
                seconds = self.rng.uniform(0.5, 2.5) * self.ttl
                self.sim.freeze(victim, seconds)
                self.history.record(victim, "freeze", detail=f"{seconds:.3f}s")
        if now >= self.next_crash:
            self.next_crash = now + self._gap(self.p.crash_every)
            victims = self._live_contenders()
            if victims and now < self.horizon:
                victim = self.rng.choice(victims)
                self.sim.kill(victim)
                self.history.record(victim, "crashed")
                self.spawn_contender()

    def _live_contenders(self) -> list[str]:
        groups = {t.group for t in self.sim.tasks if not t.done.is_set()}
        return sorted(g for g in groups if g.startswith("c") and g not in self.sim.killed_groups)

    def run(self) -> Outcome:
        self.backend.begin(self.sim, self.history, self.rng, self.p.throttle_rate)
        # The harness's own store (sweeps, server expiry, the truth of what was applied) meets
        # no injected fault: a backend with faults at the wire opens it off the wire.
        self.admin = getattr(self.backend, "open_admin", self.backend.open)(
            SimClock(self.sim), self.allowance
        )
        if self.backend.server_expiry:
            self.sim.on_tick.append(self._server_tick)
        try:
            for _ in range(self.rng.randint(self.p.slots + 1, self.p.contenders)):
                self.spawn_contender()
            self.sim.spawn("sweeper", self.sweep)
            if self.p.steal_every is not None:
                skew = self.skew_ms()
                self.skews.append(skew)
                store = self.store_for("operator", skew, faults=True)
                rng = random.Random(self.rng.getrandbits(64))
                self.sim.spawn("operator", lambda: self.steal_now_and_then(store, rng))
            self.sim.run(self.between)
            self.sim.spawn("probe", self.probe)
            self.sim.run()
        finally:
            self.sim.shutdown()
            self.backend.end()
        events = list(self.history.events)
        faults: Counter[str] = Counter(e.detail for e in events if e.kind == "fault")
        faults["freeze"] = sum(1 for e in events if e.kind == "freeze")
        faults["crash"] = sum(1 for e in events if e.kind == "crashed")
        faults["skewed clocks"] = sum(1 for s in self.skews if s)
        if self.p.slots > 1:
            problems = check_semaphore_history(events, self.p.slots)
        else:
            problems = check_history(events)
        return Outcome(self.backend.name, self.seed, events, problems, faults)


def run_history(backend: Backend, seed: int, profile: Profile | None = None) -> Outcome:
    """Run and check one history; the same seed replays the same history."""
    return _Run(backend, seed, profile or Profile()).run()


def summary(outcomes: list[Outcome]) -> dict[str, Any]:
    """Totals over many histories: counts, faults injected per kind, violations."""
    faults: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    for outcome in outcomes:
        faults.update(outcome.faults)
        kinds.update(e.kind for e in outcome.events)
    return {
        "histories": len(outcomes),
        "grants": kinds["granted"],
        "renewals": kinds["renewed"],
        "fenced writes": kinds["write"],
        "deletions": kinds["deleted"],
        "steals": sum(
            1 for o in outcomes for e in o.events if e.kind == "applied" and e.detail == "steal"
        ),
        "wire histories": sum(1 for o in outcomes if any(e.kind == "wire" for e in o.events)),
        "faults": dict(sorted(faults.items())),
        "most holders at once": max((most_at_once(o.events) for o in outcomes), default=0),
        "violations": sum(len(o.problems) for o in outcomes),
    }
