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
expiry, a ttl ceiling) are read once before acquiring instead.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar, overload

from cloudlease._validation import Duration, check_name, to_seconds
from cloudlease.errors import ConfigError, LeaseHeld, LeaseLost, RunSkipped
from cloudlease.keeper import HeldLease, HoldPlan, release_quietly
from cloudlease.lease import LeaseRecord
from cloudlease.store import LeaseStore, default_holder_id

log = logging.getLogger("cloudlease")

F = TypeVar("F", bound=Callable[..., Any])
TickSource = Callable[..., "str | datetime | None"]

_current: contextvars.ContextVar[HeldLease | None] = contextvars.ContextVar(
    "cloudlease_current_lease", default=None
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._:\-]+")
DONE = "done"


def current_lease() -> HeldLease:
    """The lease guarding the running ``@single_runner`` call (raises LeaseLost outside one)."""
    held = _current.get()
    if held is None:
        raise LeaseLost("current_lease() was called outside a @single_runner call")
    return held


def sanitize(text: str) -> str:
    """``text`` with every run of characters a lease name cannot hold replaced by ``_``."""
    return _UNSAFE.sub("_", text).lstrip("._:-")


def default_name(func: Callable[..., Any]) -> str:
    """``module.qualname`` made into a valid lease name (``<locals>`` and the like dropped)."""
    raw = f"{func.__module__}.{func.__qualname__}".replace("<locals>.", "")
    name = sanitize(raw)[:200]
    return name or "job"


def tick_id(tick: str | datetime, *, job: str) -> str:
    """A tick as a lease-name suffix: datetimes in UTC ISO form (``2026-01-01T00:00:00Z``)."""
    if isinstance(tick, datetime):
        moment = tick if tick.tzinfo else tick.replace(tzinfo=timezone.utc)
        text = moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    elif isinstance(tick, str) and tick:
        text = tick
    else:
        raise ConfigError(f"a tick is a non-empty str or a datetime, got {tick!r}", lease=job)
    return _UNSAFE.sub("_", text)[:80]


@dataclass(frozen=True)
class Every:
    """A tick source for periodic jobs: the start of the current ``period`` window.

    ``every(timedelta(minutes=5))`` gives ``2026-01-01T10:05:00Z`` for any call between
    10:05:00 and 10:09:59 (UTC, windows aligned to the epoch plus ``offset``).
    """

    period: float
    offset: float = 0.0

    def window(self, now_ms: int) -> datetime:
        period_ms, offset_ms = round(self.period * 1000), round(self.offset * 1000)
        start = (now_ms - offset_ms) // period_ms * period_ms + offset_ms
        return datetime.fromtimestamp(start / 1000, tz=timezone.utc)


def every(period: Duration, *, offset: Duration = 0.0) -> Every:
    """Tick windows of ``period`` (seconds or timedelta), aligned to the epoch plus ``offset``."""
    return Every(
        to_seconds(period, what="period"),
        to_seconds(offset, what="offset", allow_zero=True),
    )


@dataclass(frozen=True)
class Guard:
    """Everything ``single_runner`` was configured with, checked once."""

    store: LeaseStore | str | None
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

    def resolve_store(self) -> LeaseStore:
        if self.store is None or isinstance(self.store, str):
            from cloudlease.urls import open_store

            store = open_store(self.store)
            object.__setattr__(self, "store", store)  # opened once, on first use
            return store
        return self.store


@dataclass
class Call:
    """One guarded invocation: its lease name, holder, and the limits of its environment."""

    name: str
    job: str = ""
    holder: str | None = None
    max_duration: float | None = None
    tick: str | None = None
    metadata: Mapping[str, Any] | None = None


class Runner:
    """Runs one call under its lease: acquire, renew, run, then release or mark the tick done."""

    def __init__(self, guard: Guard, store: LeaseStore, call: Call) -> None:
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
        self.plan = HoldPlan.make(
            store,
            call.name,
            ttl=guard.ttl,
            wait=guard.wait,
            holder=holder,
            metadata=metadata,
            renew_every=None,
            max_duration=call.max_duration,
        )
        self.metadata = metadata

    # -- the steps, shared by the sync and async paths --------------------------------------

    def acquire(self) -> HeldLease | None:
        """The held lease, or None when this call is skipped (or RunSkipped raised)."""
        if self.call.tick is not None and self._reads_before_acquire():
            record = self.store.get(self.call.name)
            if record is not None and _done(record, self.store.clock.wall_ms()):
                self._skip("done", record)
                return None
        try:
            return self.plan.acquire(give_up_if=lambda r: _done(r, self.store.clock.wall_ms()))
        except LeaseHeld as exc:
            now_ms = self.store.clock.wall_ms()
            reason = "done" if exc.record and _done(exc.record, now_ms) else "held"
            self._skip(reason, exc.record)
            return None

    def finish(self, held: HeldLease, succeeded: bool) -> None:
        """After the call: mark the tick done (on success) or release; raise if lost."""
        if held.lost.is_set():
            raise LeaseLost(
                f"the lease was lost while the function ran ({held.reason}); its work may "
                "overlap another runner's: make it idempotent or fence its writes",
                lease=held.name,
                store=self.store.url,
            )
        if not (succeeded and self.call.tick is not None):
            release_quietly(self.store, held)
            return
        now_ms = self.store.clock.wall_ms()
        done = {
            **self.metadata,
            "job": self.call.job,
            DONE: True,
            "finished_at": now_ms,
            "done_until": now_ms + round(self.guard.remember * 1000),
        }
        held._mark_lost("tick done")
        remember = self.guard.remember
        ceiling = self.store.capabilities.max_ttl
        if ceiling is not None:
            remember = min(remember, ceiling)
        try:
            self.store.acquire(held.name, held.holder, remember, done)
        except Exception as exc:  # the run succeeded: report, do not fail it
            log.warning("cloudlease: could not mark tick %r done: %s", held.name, exc)

    def _reads_before_acquire(self) -> bool:
        caps = self.store.capabilities
        return caps.server_side_expiry or (
            caps.max_ttl is not None and caps.max_ttl < self.guard.remember
        )

    def _skip(self, reason: str, record: LeaseRecord | None) -> None:
        holder = record.holder if record else "?"
        text = f"tick already done (by {holder})" if reason == "done" else f"held by {holder!r}"
        if self.guard.raise_on_skip:
            raise RunSkipped(
                f"skipped: {text}", lease=self.call.name, store=self.store.url, reason=reason
            )
        log.info("cloudlease: %s skipped: %s", self.call.name, text)


def _done(record: LeaseRecord, now_ms: int) -> bool:
    """True when ``record`` marks a completed tick that is still remembered at ``now_ms``."""
    meta = record.metadata
    until = meta.get("done_until")
    return meta.get(DONE) is True and isinstance(until, int) and until > now_ms


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
    store = guard.resolve_store()
    runner = Runner(guard, store, call)
    held = runner.acquire()
    if held is None:
        return guard.skipped
    keeper = runner.plan.keeper(held)
    keeper.start()
    token = _current.set(held)
    succeeded = False
    try:
        if guard.pass_lease:
            kwargs = {**kwargs, "lease": held}
        result = func(*args, **kwargs)
        succeeded = True
        return result
    finally:
        _current.reset(token)
        keeper.stop()
        if succeeded:
            runner.finish(held, True)
        else:
            release_quietly(store, held)


async def run_guarded_async(
    guard: Guard, func: Callable[..., Any], args: Any, kwargs: Any, call: Call
) -> Any:
    """The async path: store requests run in a worker thread, the event loop stays free."""
    store = await asyncio.to_thread(guard.resolve_store)
    runner = Runner(guard, store, call)
    held = await asyncio.to_thread(runner.acquire)
    if held is None:
        return guard.skipped
    keeper = runner.plan.keeper(held)
    keeper.start()
    token = _current.set(held)
    succeeded = False
    try:
        if guard.pass_lease:
            kwargs = {**kwargs, "lease": held}
        result = await func(*args, **kwargs)
        succeeded = True
        return result
    finally:
        _current.reset(token)
        await asyncio.to_thread(keeper.stop)
        if succeeded:
            await asyncio.to_thread(runner.finish, held, True)
        else:
            await asyncio.to_thread(release_quietly, store, held)


def make_guard(
    *,
    store: LeaseStore | str | None,
    name: str | None,
    ttl: Duration,
    wait: Duration | None,
    skipped: Any,
    raise_on_skip: bool,
    remember: Duration,
    holder: str | None = None,
    pass_lease: bool = False,
    tick: TickSource | Every | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> Guard:
    """Check the decorator's options once, at decoration time (adapters leave the last four
    at their defaults: they supply holder and tick per call)."""
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
    return Guard(
        store,
        name,
        ttl_s,
        wait_s,
        skipped,
        raise_on_skip,
        holder,
        pass_lease,
        tick,
        remember_s,
        metadata,
    )


@overload
def single_runner(func: F, /) -> F: ...


@overload
def single_runner(
    *,
    store: LeaseStore | str | None = None,
    name: str | None = None,
    ttl: Duration = 60.0,
    wait: Duration | None = None,
    skipped: Any = None,
    raise_on_skip: bool = False,
    holder: str | None = None,
    pass_lease: bool = False,
    tick: TickSource | Every | None = None,
    remember: Duration = timedelta(days=1),
    metadata: Mapping[str, Any] | None = None,
) -> Callable[[F], F]: ...


def single_runner(
    func: F | None = None,
    /,
    *,
    store: LeaseStore | str | None = None,
    name: str | None = None,
    ttl: Duration = 60.0,
    wait: Duration | None = None,
    skipped: Any = None,
    raise_on_skip: bool = False,
    holder: str | None = None,
    pass_lease: bool = False,
    tick: TickSource | Every | None = None,
    remember: Duration = timedelta(days=1),
    metadata: Mapping[str, Any] | None = None,
) -> F | Callable[[F], F]:
    """Run the decorated function (sync or ``async def``) only if this caller wins the lease.

    ``store`` is a store or a URL (default ``$CLOUDLEASE_STORE``, opened on first call);
    ``name`` defaults to the function's qualified name. A caller that loses returns
    ``skipped`` (None) or, with ``raise_on_skip``, raises RunSkipped; ``wait`` seconds makes it
    wait instead. While the function runs the lease is renewed; the function sees it through
    ``current_lease()`` (or a ``lease=`` argument with ``pass_lease``), and if it was lost the
    wrapper raises LeaseLost after the function returns. ``tick`` turns on once-per-tick mode:
    a callable given the call's arguments, or ``every(period)``.
    """
    guard = make_guard(
        store=store,
        name=name,
        ttl=ttl,
        wait=wait,
        skipped=skipped,
        raise_on_skip=raise_on_skip,
        holder=holder,
        pass_lease=pass_lease,
        tick=tick,
        remember=remember,
        metadata=metadata,
    )

    def decorate(target: F) -> F:
        return guard_function(guard, target)

    return decorate(func) if func is not None else decorate


def guard_function(
    guard: Guard,
    target: F,
    call_for: Callable[[Any, Any], Call] | None = None,
) -> F:
    """Wrap ``target``; ``call_for(args, kwargs)`` may supply the per-call lease details."""
    job = guard.name or default_name(target)

    def plan(args: Any, kwargs: Any) -> Call:
        call = call_for(args, kwargs) if call_for else Call(job)
        call.job = call.job or call.name
        if call.tick is None and guard.tick is not None:
            store = guard.resolve_store()
            call.tick = _tick_of(guard, store, args, kwargs, call.job)
        if call.tick is not None:
            call.name = check_name(f"{call.job}:{call.tick}")
        return call

    if inspect.iscoroutinefunction(target):

        @functools.wraps(target)
        async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
            return await run_guarded_async(guard, target, args, kwargs, plan(args, kwargs))

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(target)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return run_guarded(guard, target, args, kwargs, plan(args, kwargs))

    return wrapper  # type: ignore[return-value]


def last_successes(records: list[LeaseRecord]) -> dict[str, tuple[str, int]]:
    """Per job, the newest completed tick and when it finished (for ``cloudlease status``)."""
    latest: dict[str, tuple[str, int]] = {}
    for record in records:
        meta = record.metadata
        job, tick, finished = meta.get("job"), meta.get("tick"), meta.get("finished_at")
        if meta.get(DONE) is not True or not isinstance(job, str) or not isinstance(finished, int):
            continue
        if job not in latest or latest[job][1] < finished:
            latest[job] = (str(tick), finished)
    return latest
