"""@single_runner: run a function only if this caller wins its lease; others skip or wait.

Plain mode guards every call with one lease (default name: the function's qualified name).
Once-per-tick mode makes the tick (an EventBridge ``time``, a Cloud Scheduler schedule time,
a Cloud Run execution, or a period window of the clock) part of the lease name
(``NAME:TICK``): a tick runs at most once even when delivered twice, and a tick that completed
is remembered for ``remember`` seconds, so a late duplicate is skipped too. A failed run
does not mark its tick done, so a retry may run.

How a completed tick is remembered: instead of releasing, the winner re-acquires its tick
lease (re-entry: one request) for ``remember`` seconds with ``{"done": true, ...}`` in the
metadata. A duplicate's acquire is then refused, and the refusal carries the record, so it
learns "done" in the same request. Stores whose leases cannot last that long (server-side
expiry, a ttl ceiling) are read once before acquiring instead. With ``share_result=True`` the
done record also holds the run's JSON result, and a duplicate returns it.

No overlap across ticks (``overlap="skip"`` / ``"wait"``): a run also holds the job's own
lease (``JOB``, taken after its tick's), so a tick whose predecessor still runs is skipped, or
waits up to ``overlap_wait``; ``current_lease()`` is then that job lease, whose token grows
from run to run.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypedDict, TypeVar, overload

from cloudlease import _flows
from cloudlease._flows import Flow, Step, run, run_async
from cloudlease._validation import Duration, check_name, to_seconds
from cloudlease.errors import ConfigError, LeaseHeld, LeaseLost, RunSkipped
from cloudlease.records import LeaseRecord
from cloudlease.store import LeaseStore, default_holder_id, is_async
from cloudlease.tenure import RENEWAL_MODES, HeldLease, Tenure, TimingPolicy
from cloudlease.ticks import (
    Every,
    ResultNotShared,
    done_metadata,
    every,
    is_done,
    sanitize,
    shared_result,
    tick_id,
    with_result,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from cloudlease.async_store import AsyncLeaseStore

log = logging.getLogger("cloudlease")

__all__ = ["ResultNotShared", "Skip", "current_lease", "every", "single_runner"]

F = TypeVar("F", bound=Callable[..., Any])
TickSource = Callable[..., "str | datetime | None"]

#: ``overlap=``: "allow" (ticks are independent), "skip" or "wait" (a run holds the job's lease).
OVERLAP_MODES = ("allow", "skip", "wait")

#: ``CLOUDLEASE_DISABLED=1`` runs guarded functions without a lease (local runs and tests).
DISABLE_ENV = "CLOUDLEASE_DISABLED"

_current: contextvars.ContextVar[HeldLease | None] = contextvars.ContextVar(
    "cloudlease_current_lease", default=None
)


def current_lease() -> HeldLease:
    """The lease guarding the running ``@single_runner`` call (raises LeaseLost outside one)."""
    held = _current.get()
    if held is None:
        raise LeaseLost("current_lease() was called outside a @single_runner call")
    return held


def default_name(func: Callable[..., Any]) -> str:
    """``module.qualname`` made into a valid lease name (``<locals>`` and the like dropped)."""
    raw = f"{func.__module__}.{func.__qualname__}".replace("<locals>.", "")
    name = sanitize(raw)[:200]
    return name or "job"


@dataclass(frozen=True)
class Guard:
    """Everything ``single_runner`` was configured with, checked once."""

    store: LeaseStore | AsyncLeaseStore | str | None
    name: str | None
    ttl: float
    wait: float | None
    skipped: Any
    raise_on_skip: bool
    holder: str | None
    pass_lease: bool
    tick: TickSource | Every | None
    remember: float
    metadata: Mapping[str, Any] | None
    renewal: str = "background"
    share_result: bool = False
    overlap: str = "allow"
    overlap_wait: float = 60.0
    opened: dict[bool, Any] = field(default_factory=dict, compare=False, repr=False)

    def resolve_store(self, async_side: bool = False) -> Any:
        """The store object; a URL (or $CLOUDLEASE_STORE) is opened once per side, on first
        use: its async side (``open_async_store``) for an ``async def``."""
        if self.store is not None and not isinstance(self.store, str):
            return self.store
        with _OPENING:
            if async_side not in self.opened:
                from cloudlease.urls import open_async_store, open_store

                opener = open_async_store if async_side else open_store
                self.opened[async_side] = opener(self.store)
            return self.opened[async_side]


_OPENING = threading.Lock()
#: A runner flow's step that stops a tenure's renewer (a thread joined, or a task awaited).
STOP_RENEWING = "stop_renewing"


@dataclass(frozen=True)
class Skip:
    """Why a guarded call did not run, for whoever answers for it.

    ``reason``: ``"done"`` (its tick completed), ``"held"`` (the lease, or its tick, is held:
    still running elsewhere) or ``"overlap"`` (the job's previous run still runs);
    ``record``: the record that said so; ``shared``/``result``: the winner's result, when
    ``share_result`` is on and the tick is done.
    """

    reason: str
    lease: str
    store: str
    tick: str | None = None
    record: LeaseRecord | None = None
    shared: bool = False
    result: Any = None


@dataclass
class Call:
    """One guarded invocation: its lease name, holder, and the limits of its environment."""

    name: str
    job: str = ""
    holder: str | None = None
    max_duration: float | None = None
    tick: str | None = None
    metadata: Mapping[str, Any] | None = None
    #: What a skipped call returns, from why it was skipped (adapters that answer for it, as
    #: ``cloud_run.scheduled`` answers a duplicate request); None: the guard's rule.
    answer: Callable[[Skip], Any] | None = None


class Runner:
    """Runs one call under its lease: acquire, renew, run, then release or mark the tick done.

    The steps are flows (``cloudlease._flows``) shared by the sync and async paths; the
    lease's life is a ``Tenure`` (``AsyncTenure`` on an async store).
    """

    def __init__(self, guard: Guard, store: Any, call: Call) -> None:
        self.guard, self.store, self.call = guard, store, call
        metadata = dict(guard.metadata or {})
        metadata.update(call.metadata or {})
        if call.tick is not None:
            metadata.update(tick=call.tick)
        holder = call.holder if call.holder is not None else guard.holder
        if call.tick is not None:
            # Unique per call: a later call with the same holder id (a retried task, a Lambda
            # retry with the same request id) must be refused by a done tick, not re-enter it.
            holder = f"{(holder or default_holder_id())[:180]}/{os.urandom(3).hex()}"
        policy = TimingPolicy.for_store(
            store, lease=call.name, ttl=guard.ttl, max_duration=call.max_duration
        )
        self.side: type[Any] = Tenure
        if is_async(store):
            from cloudlease.async_tenure import AsyncTenure  # only async users load asyncio

            self.side = AsyncTenure
        self.metadata = metadata
        self.tenure: Any = self.side(
            store,
            call.name,
            policy=policy,
            holder=holder,
            metadata=metadata,
            wait=guard.wait,
            renewal=guard.renewal,
        )
        self.job_tenure = self._job_tenure(policy) if call.tick is not None else None
        self.skip: Skip | None = None
        self._context: contextvars.Token[HeldLease | None] | None = None

    def _job_tenure(self, tick_policy: TimingPolicy) -> Any:
        """With ``overlap`` "skip"/"wait": the job's own lease, held for the whole run so that
        no two ticks' runs overlap. A loss of either lease ends the other."""
        if self.guard.overlap == "allow":
            return None
        policy = TimingPolicy.for_store(
            self.store, lease=self.call.job, ttl=self.guard.ttl, max_duration=self.call.max_duration
        )
        tick = self.tenure
        job = self.side(
            self.store,
            self.call.job,
            policy=policy,
            holder=tick.holder,
            metadata=self.metadata,
            wait=self.guard.overlap_wait if self.guard.overlap == "wait" else None,
            renewal=self.guard.renewal,
            on_lost=lambda _: tick.step_down("the job's lease (overlap) was lost; stepped down"),
        )
        tick.on_lost = lambda _: job.step_down("the tick's lease was lost; stepped down")
        return job

    @property
    def held(self) -> HeldLease:
        """The lease the function sees: the job's under ``overlap``, else the call's."""
        held: HeldLease = self.job_tenure or self.tenure
        return held

    def acquire(self) -> Flow[bool]:
        """True when this call holds the lease; False when it is skipped (or RunSkipped)."""
        now_ms = self.store.clock.wall_ms
        if self.call.tick is not None and self._reads_before_acquire():
            record = yield _flows.Call("get", (self.call.name,))
            if record is not None and is_done(record, now_ms()):
                self._skip("done", record)
                return False
        try:
            yield from self.tenure._acquire_flow(lambda record: is_done(record, now_ms()))
        except LeaseHeld as exc:
            reason = "done" if exc.record and is_done(exc.record, now_ms()) else "held"
            self._skip(reason, exc.record)
            return False
        return (yield from self._acquire_job_lease())

    def _acquire_job_lease(self) -> Flow[bool]:
        """Under ``overlap``: take the job's lease too (waiting up to ``overlap_wait`` with
        "wait"), renewing the tick's meanwhile. Refused: the tick is let go (not done), and
        the call skipped with reason "overlap"."""
        job = self.job_tenure
        if job is None:
            return True
        self._start_renewing(self.tenure)  # the tick stays ours while we wait for the job
        try:
            yield from job._acquire_flow(None)
            if not self.tenure.is_valid():
                yield from job._release_flow("released", False)
                raise LeaseLost(
                    "the tick's lease was lost while waiting for the job's previous run "
                    f"({self.tenure.reason}); nothing ran",
                    lease=self.call.name,
                    store=self.store.url,
                )
        except LeaseHeld as exc:
            yield from self._let_tick_go()
            self._skip("overlap", exc.record)
            return False
        except BaseException:
            yield from self._let_tick_go()
            raise
        return True

    def _let_tick_go(self) -> Flow[None]:
        yield _flows.Call(STOP_RENEWING, (self.tenure,))
        yield from self.tenure._release_flow("released", False)

    def _start_renewing(self, tenure: Any) -> None:
        if self.guard.renewal == "background":
            tenure.start_renewing()

    def enter(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """Start renewing and make the lease current; the call's keyword arguments."""
        if self.job_tenure is not None:
            self._start_renewing(self.job_tenure)  # the tick's renews since its acquisition
        else:
            self._start_renewing(self.tenure)
        self._context = _current.set(self.held)
        return {**kwargs, "lease": self.held} if self.guard.pass_lease else kwargs

    def leave(self) -> None:
        """The call returned or raised: the lease is no longer current (in this context)."""
        if self._context is not None:
            _current.reset(self._context)
            self._context = None

    def settle(self, succeeded: bool, result: Any = None) -> Flow[None]:
        """Stop renewing; mark the tick done (after a success, with its ``result`` when
        shared) or release; raise LeaseLost if the lease was lost while a successful call ran,
        ResultNotShared (after marking the tick done) if the result could not be stored. The
        job's lease (``overlap``) is let go last."""
        job = self.job_tenure
        if job is None:
            yield from self._settle_tick(succeeded, result)
            return
        yield _flows.Call(STOP_RENEWING, (job,))
        try:
            yield from self._settle_tick(succeeded, result)
        finally:
            yield from job._release_flow("released", False)

    def _settle_tick(self, succeeded: bool, result: Any) -> Flow[None]:
        tenure = self.tenure
        yield _flows.Call(STOP_RENEWING, (tenure,))
        if not succeeded:
            yield from tenure._release_flow("released", False)
            return
        if tenure.lost.is_set():
            raise LeaseLost(
                f"the lease was lost while the function ran ({tenure.reason}); its work may "
                "overlap another runner's: make it idempotent or fence its writes",
                lease=tenure.name,
                store=self.store.url,
            )
        if self.call.tick is None:
            yield from tenure._release_flow("released", False)
            return
        done = done_metadata(
            self.metadata,
            job=self.call.job,
            now_ms=self.store.clock.wall_ms(),
            remember=self.guard.remember,
        )
        problem = None
        if self.guard.share_result:
            done, problem = with_result(done, result, lease=self.call.name, store=self.store.url)
        yield from tenure._mark_done_flow(done, self.guard.remember)
        if problem is not None:
            raise problem

    def perform(self, step: Step) -> Any:
        """Do one step of a flow from sync code."""
        if isinstance(step, _flows.Call) and step.method == STOP_RENEWING:
            return step.args[0].stop_renewing()
        return self.tenure._perform(step)

    async def perform_async(self, step: Step) -> Any:
        """Do one step of a flow from a coroutine."""
        if isinstance(step, _flows.Call) and step.method == STOP_RENEWING:
            return await step.args[0].stop_renewing()
        return await self.tenure._perform(step)

    def _reads_before_acquire(self) -> bool:
        caps = self.store.capabilities
        return caps.server_side_expiry or (
            caps.max_ttl is not None and caps.max_ttl < self.guard.remember
        )

    def _skip(self, reason: str, record: LeaseRecord | None) -> None:
        holder = record.holder if record else "?"
        text = {
            "done": f"tick already done (by {holder})",
            "overlap": f"the job's previous run still runs (held by {holder!r})",
        }.get(reason, f"held by {holder!r}")
        if self.guard.raise_on_skip:
            raise RunSkipped(
                f"skipped: {text}", lease=self.call.name, store=self.store.url, reason=reason
            )
        log.info("cloudlease: %s skipped: %s", self.call.name, text)
        shared, result = (False, None)
        if self.guard.share_result and reason == "done" and record is not None:
            shared, result = shared_result(record)
        self.skip = Skip(
            reason, self.call.name, self.store.url, self.call.tick, record, shared, result
        )

    def skipped(self) -> Any:
        """What a skipped call returns: the call's ``answer``, else the winner's shared
        result, else the guard's ``skipped`` value."""
        skip = self.skip
        if skip is not None and self.call.answer is not None:
            return self.call.answer(skip)
        if skip is not None and skip.shared:
            return skip.result
        return self.guard.skipped


def _tick_of(guard: Guard, store: LeaseStore, args: Any, kwargs: Any, job: str) -> str | None:
    if guard.tick is None:
        return None
    if isinstance(guard.tick, Every):
        return tick_id(guard.tick.window(store.clock.wall_ms()), job=job)
    tick = guard.tick(*args, **kwargs)
    if tick is None:
        raise ConfigError(
            "once-per-tick mode needs a tick, and the tick source returned None for this "
            "call; pass the scheduled time (e.g. the event's 'time')",
            lease=job,
            store=store.url,
        )
    return tick_id(tick, job=job)


def run_guarded(guard: Guard, func: Callable[..., Any], args: Any, kwargs: Any, call: Call) -> Any:
    """Run ``func(*args, **kwargs)`` under the lease ``call`` describes (sync path)."""
    runner = Runner(guard, guard.resolve_store(), call)
    if not run(runner.acquire(), runner.perform):
        return runner.skipped()
    try:
        result = func(*args, **runner.enter(kwargs))
    except BaseException:
        runner.leave()
        run(runner.settle(succeeded=False), runner.perform)
        raise
    runner.leave()
    run(runner.settle(succeeded=True, result=result), runner.perform)
    return result


async def run_guarded_async(
    guard: Guard, func: Callable[..., Any], args: Any, kwargs: Any, call: Call
) -> Any:
    """The async path. On an async store (a URL opens its async side) the same runner flows
    are awaited natively; a sync store object is still served, its requests on a worker
    thread (``asyncio.to_thread``), so the event loop stays free."""
    store = guard.resolve_store(async_side=True)
    runner = Runner(guard, store, call)
    if is_async(store):
        return await _run_on_loop(runner, func, args, kwargs)
    import asyncio  # here, not at import: sync users never pay for it

    if not await asyncio.to_thread(run, runner.acquire(), runner.perform):
        return runner.skipped()
    try:
        result = await func(*args, **runner.enter(kwargs))
    except BaseException:
        runner.leave()
        await asyncio.to_thread(run, runner.settle(succeeded=False), runner.perform)
        raise
    runner.leave()
    await asyncio.to_thread(run, runner.settle(succeeded=True, result=result), runner.perform)
    return result


async def _run_on_loop(runner: Runner, func: Callable[..., Any], args: Any, kwargs: Any) -> Any:
    """``func`` under an async store's lease: every request awaited, renewals in a task."""
    perform = runner.perform_async
    if not await run_async(runner.acquire(), perform):
        return runner.skipped()
    succeeded, result = False, None
    try:
        result = await func(*args, **runner.enter(kwargs))
        succeeded = True
    finally:  # on an error or a cancellation too: release (or mark done), then go on raising
        runner.leave()
        await run_async(runner.settle(succeeded, result), perform)
    return result


class GuardOptions(TypedDict, total=False):
    """The options every guarding decorator takes (``single_runner`` documents each)."""

    store: LeaseStore | AsyncLeaseStore | str | None
    name: str | None
    ttl: Duration
    wait: Duration | None
    skipped: Any
    raise_on_skip: bool
    remember: Duration
    metadata: Mapping[str, Any] | None
    renewal: str
    share_result: bool
    overlap: str
    overlap_wait: Duration


class RunnerOptions(GuardOptions, total=False):
    """``single_runner``'s options: the adapters supply holder and tick per call instead."""

    holder: str | None
    pass_lease: bool
    tick: TickSource | Every | None


def make_guard(
    *,
    store: LeaseStore | AsyncLeaseStore | str | None = None,
    name: str | None = None,
    ttl: Duration = 60.0,
    wait: Duration | None = None,
    skipped: Any = None,
    raise_on_skip: bool = False,
    remember: Duration = timedelta(days=1),
    metadata: Mapping[str, Any] | None = None,
    renewal: str = "background",
    share_result: bool = False,
    overlap: str = "allow",
    overlap_wait: Duration = 60.0,
    holder: str | None = None,
    pass_lease: bool = False,
    tick: TickSource | Every | None = None,
) -> Guard:
    """Check a decorator's options once, at decoration time: the one place of their defaults."""
    where = {"lease": name, "store": store if isinstance(store, str) else None}
    if name is not None:
        check_name(name)
    ttl_s = to_seconds(ttl, what="ttl", lease=where["lease"], store=where["store"])
    wait_s = None
    if wait is not None:
        wait_s = to_seconds(wait, what="wait", lease=name, allow_zero=True, allow_infinite=True)
    remember_s = to_seconds(remember, what="remember", lease=name)
    if tick is not None and not (isinstance(tick, Every) or callable(tick)):
        raise ConfigError(
            f"tick must be a callable (args -> tick) or every(period), got {tick!r}", lease=name
        )
    if store is not None and not isinstance(store, str) and not hasattr(store, "acquire"):
        raise ConfigError(f"store must be a store object or a URL, got {store!r}", lease=name)
    if renewal not in RENEWAL_MODES:
        raise ConfigError(
            f"renewal must be one of {', '.join(RENEWAL_MODES)}, got {renewal!r}", lease=name
        )
    overlap_wait_s = _check_overlap(overlap, overlap_wait, renewal, name)
    return Guard(
        store=store,
        name=name,
        ttl=ttl_s,
        wait=wait_s,
        skipped=skipped,
        raise_on_skip=raise_on_skip,
        holder=holder,
        pass_lease=pass_lease,
        tick=tick,
        remember=remember_s,
        metadata=metadata,
        renewal=renewal,
        share_result=bool(share_result),
        overlap=overlap,
        overlap_wait=overlap_wait_s,
    )


def _check_overlap(overlap: object, wait: Duration, renewal: str, name: str | None) -> float:
    """``overlap_wait`` in seconds, once ``overlap`` is known to go with ``renewal``."""
    if overlap not in OVERLAP_MODES:
        raise ConfigError(
            f"overlap must be one of {', '.join(OVERLAP_MODES)}, got {overlap!r}: 'skip' skips "
            "a tick whose previous run still runs, 'wait' waits up to overlap_wait for it",
            lease=name,
        )
    if overlap != "allow" and renewal == "manual":
        raise ConfigError(
            f"overlap={overlap!r} needs renewal='background': the job's lease and the tick's "
            "are renewed together while the function runs",
            lease=name,
        )
    return to_seconds(wait, what="overlap_wait", lease=name, allow_zero=True)


@overload
def single_runner(func: F, /) -> F: ...


@overload
def single_runner(**options: Unpack[RunnerOptions]) -> Callable[[F], F]: ...


def single_runner(
    func: F | None = None, /, **options: Unpack[RunnerOptions]
) -> F | Callable[[F], F]:
    """Run the decorated function (sync or ``async def``) only if this caller wins the lease.

    Options (keyword-only, checked at decoration):

    - ``store``: a store or a URL (default ``$CLOUDLEASE_STORE``, opened on first call);
    - ``name``: the lease name (default: the function's qualified name);
    - ``ttl``: seconds (60); the lease is renewed every ttl/3 while the function runs;
    - ``wait``: seconds to wait for the lease instead of skipping (None: skip at once);
    - ``skipped``: what a call that loses returns (None); ``raise_on_skip`` raises RunSkipped;
    - ``holder``: the holder id (default ``host:pid:random``); ``metadata``: stored with it;
    - ``pass_lease``: pass the held lease as ``lease=`` (``current_lease()`` always works);
    - ``renewal``: ``"background"`` (the renewal scheduler renews every ttl/3) or
      ``"manual"`` (nothing renews: call ``current_lease().extend(seconds)`` /
      ``.renew()`` from the function);
    - ``tick``: once-per-tick mode: a callable given the call's arguments, or
      ``every(period)``; ``remember``: how long a completed tick is remembered (1 day);
    - ``share_result``: store the winner's JSON result with its done tick (at most
      ``RESULT_MAX_BYTES``); a duplicate returns it instead of ``skipped`` (ResultNotShared
      at the winner, after marking the tick done, when it cannot be stored);
    - ``overlap``: ``"allow"`` (ticks are independent), ``"skip"`` (a tick whose previous run
      still runs is skipped) or ``"wait"`` (it waits up to ``overlap_wait`` seconds, 60).

    If the lease was lost while the function ran, the wrapper raises LeaseLost after it returns.
    """
    guard = make_guard(**options)

    def decorate(target: F) -> F:
        return guard_function(guard, target)

    return decorate(func) if func is not None else decorate


def disabled() -> bool:
    """True when ``CLOUDLEASE_DISABLED=1``: guarded functions run unguarded (local runs)."""
    return os.environ.get(DISABLE_ENV) == "1"


@contextlib.contextmanager
def unguarded(guard: Guard, job: str, kwargs: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Run a guarded call without a store: ``current_lease()`` is a local lease with fencing
    token 0 (``Tenure.unguarded``), so code that fences its writes still runs, and a fenced
    target that a real holder wrote to refuses it."""
    log.warning("cloudlease: %s=1: running %s WITHOUT a lease (fencing token 0)", DISABLE_ENV, job)
    tenure = Tenure.unguarded(job, default_holder_id(), guard.ttl)
    context = _current.set(tenure)
    try:
        yield {**kwargs, "lease": tenure} if guard.pass_lease else kwargs
    finally:
        _current.reset(context)
        tenure.release("done (unguarded)")


def guard_function(
    guard: Guard,
    target: F,
    call_for: Callable[[Any, Any], Call] | None = None,
) -> F:
    """Wrap ``target``; ``call_for(args, kwargs)`` may supply the per-call lease details."""
    job = guard.name or default_name(target)

    def plan(args: Any, kwargs: Any, async_side: bool = False) -> Call:
        call = call_for(args, kwargs) if call_for else Call(job)
        call.job = call.job or call.name
        if call.tick is None and guard.tick is not None:
            store = guard.resolve_store(async_side)
            call.tick = _tick_of(guard, store, args, kwargs, call.job)
        if call.tick is not None:
            call.name = check_name(f"{call.job}:{call.tick}")
        return call

    if not inspect.iscoroutinefunction(target) and is_async(guard.store):
        raise ConfigError(
            f"{target.__qualname__} is a plain function but its store is the async side: "
            "decorate an 'async def', or open the sync side with cloudlease.open_store(url)",
            lease=job,
            store=getattr(guard.store, "url", None),
        )
    if inspect.iscoroutinefunction(target):

        @functools.wraps(target)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            if disabled():
                with unguarded(guard, job, kwargs) as local_kwargs:
                    return await target(*args, **local_kwargs)
            return await run_guarded_async(guard, target, args, kwargs, plan(args, kwargs, True))

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(target)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if disabled():
            with unguarded(guard, job, kwargs) as local_kwargs:
                return target(*args, **local_kwargs)
        return run_guarded(guard, target, args, kwargs, plan(args, kwargs))

    return wrapper  # type: ignore[return-value]
