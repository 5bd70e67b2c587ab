"""No overlap across ticks (``overlap="skip"`` / ``"wait"``), under the deterministic simulator.

Each history is one scheduled job on the memory store: ticks every PERIOD, each delivered once
or more (duplicates, late), whose runs often overrun the period; processes crash, freeze (a
GC pause, a frozen Lambda) and meet lost and failed requests; wall clocks are skewed within
the allowance. Every delivery runs the real ``@single_runner`` (both leases through the
Tenure); only the renewal thread is replaced by a simulated task (``SimRenewal``), so that
the seeded scheduler decides every interleaving and a seed replays.

The check: a run occupies the job from the moment its function starts until it returns,
capped by its own lease's local deadline (a crashed run: until that deadline); no two runs'
occupancies intersect, and every write a run made was before its deadline.

``CLOUDLEASE_OVERLAP_HISTORIES=N`` runs N histories (default 300); ``CLOUDLEASE_SEED=S`` with
``CLOUDLEASE_OVERLAP_HISTORIES=1`` replays one.
"""

from __future__ import annotations

import functools
import itertools
import math
import os
import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from cloudlease import CloudLeaseError, RunSkipped, current_lease, single_runner
from cloudlease.renewal import drive
from cloudlease.stores.memory import MemoryStore
from cloudlease.tenure import Tenure
from cloudlease.testing import FakeClock, FaultyStore
from tests.reliability.sim import Sim, SimClock, Task

if TYPE_CHECKING:
    from cloudlease.renewal import Renewable

PERIOD = 10.0  # seconds between ticks
TTL = 4.0  # shorter than most runs: renewals matter
ALLOWANCE = 0.4  # clock skew allowance; each clock within +/- ALLOWANCE / 2
_SHELVES = itertools.count(1)


class SimRenewal:
    """Stands in for the renewal scheduler: the same ``step()`` calls (``drive``), as a task of
    the simulation in the group (process) that started it, so a crash or a freeze stops it
    too."""

    def __init__(self, renewable: Renewable, clock: Any) -> None:
        self.renewable = renewable
        self.clock = clock
        self.sim: Sim = clock.sim
        self.stop_event = threading.Event()
        self.task: Task | None = None

    def start(self) -> None:
        me = self.sim.current()
        assert me is not None, "renewal started outside a simulated task"
        body = functools.partial(drive, self.renewable, self.clock, self.stop_event)
        self.task = self.sim.spawn(f"{me.group}/keeper", body, group=me.group)

    def stop(self) -> None:
        self.stop_event.set()
        if self.task is not None and self.sim.current() is not self.task:
            self.sim.wait(self.task.done, math.inf)


def sim_schedule(renewable: Renewable, clock: Any) -> SimRenewal:
    renewal = SimRenewal(renewable, clock)
    renewal.start()
    return renewal


class NoExitRelease:
    """The simulated leases are not released at interpreter exit (their clock is gone)."""

    def add(self, tenure: object) -> None: ...

    def discard(self, tenure: object) -> None: ...


@dataclass
class Run:
    process: str
    tick: str
    begin: float
    held: Tenure
    end: float | None = None
    writes: list[tuple[float, float]] = field(default_factory=list)  # (at, deadline then)

    def occupied_until(self) -> float:
        """Until it returned, capped by its lease's last local deadline; a crashed run (it
        never returned) until that deadline."""
        deadline = self.held.lease.deadline
        return deadline if self.end is None else min(self.end, deadline)


@dataclass
class History:
    seed: int
    mode: str
    runs: list[Run] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)

    def overlaps(self) -> list[str]:
        problems = []
        ordered = sorted(self.runs, key=lambda r: r.begin)
        for run in ordered:
            for at, deadline in run.writes:
                if at >= deadline:
                    problems.append(f"{run.process} wrote at {at:.3f} past its deadline")
        for a, b in itertools.combinations(ordered, 2):
            if b.begin < a.occupied_until():
                problems.append(
                    f"{b.process} (tick {b.tick}) began at {b.begin:.3f} while "
                    f"{a.process} (tick {a.tick}) held the job until {a.occupied_until():.3f}"
                )
        return problems


class Simulation:
    """One history: its deliveries (one process each), the faults between steps."""

    def __init__(self, seed: int, mode: str | None = None) -> None:
        self.rng = random.Random(seed)
        self.sim = Sim(FakeClock(), random.Random(self.rng.getrandbits(64)))
        drawn = self.rng.choice(["skip", "wait"])
        self.history = History(seed, mode or drawn)
        self.shelf = f"overlap-{seed}-{next(_SHELVES)}"
        self.start = self.sim.now()
        self.next_fault = self.start + self.fault_gap()

    def fault_gap(self) -> float:
        return self.rng.expovariate(1 / (2 * PERIOD))

    def store(self, prng: random.Random) -> FaultyStore:
        """A process's view of the store: its own skewed wall clock, requests in flight."""
        skew = round(prng.uniform(-ALLOWANCE / 2, ALLOWANCE / 2) * 1000)
        inner = MemoryStore(
            self.shelf,
            clock=SimClock(self.sim, skew),
            takeover_allowance=ALLOWANCE,
            clock_skew_bound=ALLOWANCE,
        )
        return FaultyStore(
            inner,
            latency=prng.uniform(0.01, 0.3),  # every request in flight: others run meanwhile
            lost_rate=0.03,
            transient_rate=0.05,
            rng=random.Random(prng.getrandbits(64)),
        )

    def deliver(self, process: str, tick: str, at: float, prng: random.Random) -> None:
        """One delivery of ``tick``, at ``at``, to a process of its own."""
        sim, history = self.sim, self.history
        store = self.store(prng)
        sim.wait(None, at - sim.now())

        @single_runner(
            store=store,
            name="job",
            ttl=TTL,
            tick=lambda t: t,
            overlap=history.mode,
            overlap_wait=prng.uniform(0, 2 * PERIOD),
            wait=prng.choice([None, prng.uniform(0, PERIOD)]),
            raise_on_skip=True,
        )
        def job(t: str) -> None:
            lease = current_lease()
            run = Run(process, t, sim.now(), lease)
            history.runs.append(run)
            finish = sim.now() + prng.uniform(0.2, 2.5) * PERIOD  # often overruns the period
            while sim.now() < finish:
                if not lease.is_valid():
                    break
                run.writes.append((sim.now(), lease.lease.deadline))
                sim.wait(None, prng.uniform(0.05, 1.0))
            run.end = sim.now()

        try:
            job(tick)
            history.outcomes["returned"] += 1
        except RunSkipped as exc:
            history.outcomes[f"skipped ({exc.reason})"] += 1
        except CloudLeaseError as exc:
            history.outcomes[type(exc).__name__] += 1

    def between(self) -> None:
        """Before each step: now and then crash or freeze a live process."""
        sim, rng = self.sim, self.rng
        now = sim.now()
        if now < self.next_fault:
            return
        self.next_fault = now + self.fault_gap()
        live = sorted({t.group for t in sim.tasks if not t.done.is_set()} - sim.killed_groups)
        if not live:
            return
        victim = rng.choice(live)
        if rng.random() < 0.5:
            sim.kill(victim)
            self.history.outcomes["crashed"] += 1
        else:
            sim.freeze(victim, rng.uniform(0.5, 2.5) * TTL)
            self.history.outcomes["frozen"] += 1

    def run(self) -> History:
        rng = self.rng
        for k in range(rng.randint(3, 6)):
            copies = 1 + (rng.random() < 0.5) + (rng.random() < 0.2)
            for i in range(copies):
                late = rng.uniform(0, 0.3 * PERIOD) if i == 0 else rng.uniform(0, 2 * PERIOD)
                process, prng = f"d{k}.{i}", random.Random(rng.getrandbits(64))
                at = self.start + k * PERIOD + late
                body = functools.partial(self.deliver, process, f"t{k}", at, prng)
                self.sim.spawn(process, body, group=process)
        try:
            self.sim.run(self.between)
        finally:
            self.sim.shutdown()
        self.history.outcomes["ran"] = len(self.history.runs)
        return self.history


def run_history(seed: int, mode: str | None = None) -> History:
    """One history; ``mode`` forces the overlap mode (else drawn: "skip" or "wait")."""
    return Simulation(seed, mode).run()


def histories() -> list[int]:
    count = int(os.environ.get("CLOUDLEASE_OVERLAP_HISTORIES", "300"))
    first = int(os.environ.get("CLOUDLEASE_SEED", "1"))
    return list(range(first, first + count))


@pytest.fixture
def simulated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cloudlease.tenure.schedule", sim_schedule)
    monkeypatch.setattr("cloudlease.tenure.AT_EXIT", NoExitRelease())


@pytest.mark.usefixtures("simulated")
def test_no_two_runs_of_a_job_overlap_across_ticks() -> None:
    seeds = histories()
    totals: Counter[str] = Counter()
    modes: Counter[str] = Counter()
    for seed in seeds:
        history = run_history(seed)
        problems = history.overlaps()
        assert not problems, (
            f"seed {seed} ({history.mode}): {problems[:3]}; replay: CLOUDLEASE_SEED={seed} "
            "CLOUDLEASE_OVERLAP_HISTORIES=1"
        )
        totals.update(history.outcomes)
        modes[history.mode] += 1
    summary = ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))
    print(f"\n{len(seeds)} histories ({dict(modes)}), 0 overlaps: {summary}")
    if len(seeds) >= 50:  # the histories do exercise what they claim to
        assert totals["ran"] > len(seeds) and totals["crashed"] and totals["frozen"]
        assert totals["LeaseLost"] or totals["StoreUnavailable"]


@pytest.mark.usefixtures("simulated")
def test_the_check_sees_overlaps_when_ticks_are_independent() -> None:
    """The same histories with overlap="allow" (today's default: ticks are independent)
    overlap: the check is not vacuous."""
    found = [seed for seed in range(1, 21) if run_history(seed, mode="allow").overlaps()]
    assert found
