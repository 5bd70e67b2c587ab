"""AsyncLeaderElector: ``LeaderElector`` on an event loop, over an async store.

The same options, checks, campaign attempt and callbacks as the sync elector (``ElectorCore``);
it campaigns in one task, and each term's renewals run in that task too: no thread. Callbacks
are plain functions called on the loop (keep them short, or start a task and watch
``held.lost``). ``await resign()`` cancels the task and releases the lease if it leads.
"""

from __future__ import annotations

import asyncio

from cloudlease._flows import run_async
from cloudlease.async_tenure import AsyncTenure
from cloudlease.elector import ElectorCore
from cloudlease.errors import ConfigError


class AsyncLeaderElector(ElectorCore):
    """Elect one leader among the electors for one lease name, from async code.

    ``start()`` (in a running loop) campaigns in a task; ``await run()`` campaigns in the
    calling task instead; ``await resign()`` stops and releases. An elector runs once.
    """

    on_loop = True

    def _init_side(self) -> None:
        self._task: asyncio.Task[None] | None = None
        self._resigned = False

    def start(self) -> AsyncLeaderElector:
        """Campaign in a task on the running loop; returns self."""
        if self._task is not None or self._resigned:
            raise ConfigError(
                "this AsyncLeaderElector was already "
                + ("resigned" if self._resigned else "started")
                + ": an elector runs once; build a new AsyncLeaderElector to campaign again",
                lease=self.name,
                store=self.store.url,
            )
        self._task = asyncio.get_running_loop().create_task(
            self.run(), name=f"cloudlease-elector:{self.name}"
        )
        return self

    async def run(self) -> None:
        """Campaign, lead, campaign again, until cancelled (``resign()``)."""
        try:
            while True:
                term = self._new_term(AsyncTenure)
                if await run_async(self._campaign(term), term._perform):
                    await self._lead(term)
        finally:
            self._observe(None)

    async def resign(self) -> None:
        """Stop campaigning; if leading, stop renewing and release the lease."""
        self._resigned = True
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])

    async def _lead(self, term: AsyncTenure) -> None:
        self._took_office(term)
        try:
            await term._renew_until_over()
        finally:  # the term ended, or resign() cancelled this task: release if still ours
            if not self._ended_by_loss(term):
                await asyncio.shield(self._release(term))
            self._left_office(term)

    async def _release(self, term: AsyncTenure) -> None:
        await term.release("resigned")


__all__ = ["AsyncLeaderElector"]
