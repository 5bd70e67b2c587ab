"""AsyncTenure: one held lease's life on an event loop (what ``async with hold(...)`` returns).

The decisions and requests are ``TenureCore``'s flows, the very ones ``Tenure`` drives from
threads; here they are awaited over an async store (``open_async_store``), waits are awaited
on the Clock, and renewals run as one asyncio task per held lease (no thread).

Cancellation: cancelling the task inside ``async with`` stops renewing and releases the lease
(the release is awaited in ``__aexit__``); if that release is cancelled too, the lease is left
to expire at its ttl. A loop blocked past the lease's local deadline steps down when it runs
again, as the sync side does: the deadline is on the monotonic clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from cloudlease._flows import Pause, Step, run_async
from cloudlease._validation import Duration
from cloudlease.async_store import AsyncLeaseStore
from cloudlease.clock import Clock
from cloudlease.errors import ConfigError
from cloudlease.lease import Lease
from cloudlease.records import LeaseRecord
from cloudlease.tenure import TenureCore

log = logging.getLogger("cloudlease")


async def sleep(clock: Clock, seconds: float) -> None:
    """Wait ``seconds`` on ``clock``: its own ``sleep`` coroutine (a FakeClock's follows fake
    time) where it has one, else ``asyncio.sleep``."""
    own = getattr(clock, "sleep", None)
    if own is not None:
        await own(seconds)
    else:
        await asyncio.sleep(max(0.0, seconds))


class AsyncTenure(TenureCore):
    """``Tenure`` for async code: the same handle (``token``, ``lost``, ``ensure()``, ...)
    with coroutine methods. Use it as ``async with``; it is never released at interpreter
    exit (no loop runs then): leave the block, or cancel its task, to release it."""

    store: AsyncLeaseStore

    def _init_side(self) -> None:
        self.release_at_exit = False
        self._renewing = asyncio.Lock()  # one renewal request at a time
        self._renewer: asyncio.Task[None] | None = None

    async def _perform(self, step: Step) -> Any:
        if isinstance(step, Pause):
            await sleep(self.store.clock, step.seconds)
            return None
        with self._request(step) as request:
            if step.method == "renew":
                async with self._renewing:
                    return request.done(await self._send(step))
            return request.done(await self._send(step))

    async def acquire(self, give_up_if: Callable[[LeaseRecord], bool] | None = None) -> AsyncTenure:
        """``Tenure.acquire``, awaited: retry up to ``wait`` seconds, pausing on the loop."""
        await run_async(self._acquire_flow(give_up_if), self._perform)
        return self

    async def try_acquire(self) -> Lease:
        """``Tenure.try_acquire``, awaited: one attempt."""
        return await run_async(self._try_acquire_flow(), self._perform)

    async def steal(self) -> Lease:
        """``Tenure.steal``, awaited."""
        return await run_async(self._try_acquire_flow("steal"), self._perform)

    async def step(self) -> bool:
        """``Tenure.step``, awaited: step down past the deadline, or renew if due."""
        return await run_async(self._step_flow(), self._perform)

    async def extend(self, seconds: Duration | None = None) -> float:
        """``Tenure.extend``, awaited: renew now; the seconds left before the new deadline."""
        return await run_async(self._extend_flow(seconds), self._perform)

    async def renew(self) -> float:
        """``extend()`` for the ttl."""
        return await self.extend()

    async def release(self, reason: str = "released", *, strict: bool = False) -> bool:
        """``Tenure.release``, awaited; if cancelled, the lease is left to expire."""
        return await run_async(self._release_flow(reason, strict), self._perform)

    async def mark_done(self, metadata: Mapping[str, Any], remember: float) -> None:
        """``Tenure.mark_done``, awaited."""
        await run_async(self._mark_done_flow(metadata, remember), self._perform)

    # -- renewing on the loop ---------------------------------------------------------------

    def start_renewing(self) -> None:
        """Renew in a task on the running loop until ``stop_renewing()`` or the end."""
        self._renewer = asyncio.get_running_loop().create_task(
            self._renew_until_over(), name=f"cloudlease-keeper:{self.name}"
        )

    async def stop_renewing(self) -> None:
        """Cancel the renewal task and wait until it has stopped (a renewal in flight is
        abandoned; a release that follows settles the record either way)."""
        task, self._renewer = self._renewer, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def _renew_until_over(self) -> None:
        clock = self.store.clock
        while await self.step():
            pause = self.next_wakeup() - clock.monotonic()
            if pause > 0:
                await sleep(clock, pause)

    # -- async with -------------------------------------------------------------------------

    async def __aenter__(self) -> AsyncTenure:
        if self._lease is not None:
            raise ConfigError("a Tenure is entered once; build a new one", lease=self.name)
        await self.acquire()
        if self.renewal == "background":
            self.start_renewing()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        try:
            await self.stop_renewing()
            await self.release()
        except asyncio.CancelledError:
            self.abandon("the release was cancelled; left to expire at its ttl")
            log.warning(
                "cloudlease: release of %r was cancelled; the lease expires at its ttl", self.name
            )
            raise

    def __enter__(self) -> AsyncTenure:
        raise ConfigError(
            "this store is the async side: use 'async with hold(...)' in a coroutine, or open "
            "the sync side of the same URL with cloudlease.open_store(url) for 'with hold(...)'",
            lease=self.name,
            store=self.store.url,
        )

    def __exit__(self, *exc_info: object) -> None:
        """Never reached: ``__enter__`` refuses."""
