"""An async Cloud Run service (FastAPI) whose instances elect one leader with the async elector.

Every instance runs an ``AsyncLeaderElector`` on the lease ``scheduler`` in its event loop
(no thread); the leader runs the periodic work as a task and stops it the moment its lease is
lost. ``GET /leader`` says who leads. Shutdown (SIGTERM from Cloud Run, ending the lifespan)
resigns: the lease is released at once and another instance takes over within its retry
period. Run it with ``uvicorn main:app``.

Environment: ``CLOUDLEASE_STORE`` (e.g. ``dynamodb://TABLE?region=eu-west-1``; its async side is
opened with ``open_async_store``), ``K_REVISION`` / ``HOSTNAME`` for the holder id.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from cloudlease import AsyncLeaderElector, AsyncTenure, open_async_store

HOLDER = f"{os.environ.get('K_REVISION', 'local')}/{socket.gethostname()}/{os.getpid()}"
WORK_EVERY = 1.0  # seconds between two runs of the leader's work


async def work(lease: AsyncTenure, runs: list[int]) -> None:
    """The leader's periodic work: each run checks the lease, then fences with its token."""
    while lease.is_valid():
        runs.append(lease.token)  # a real service writes with fencing_token=lease.token
        await asyncio.sleep(WORK_EVERY)


def build(holder: str = HOLDER, **elector_options: Any) -> FastAPI:
    """The app; ``elector_options`` tune the elector (tests shorten the ttl)."""
    state: dict[str, Any] = {"runs": []}

    def on_elected(lease: AsyncTenure) -> None:
        state["worker"] = asyncio.get_running_loop().create_task(work(lease, state["runs"]))

    def on_lost(lease: AsyncTenure) -> None:
        worker = state.pop("worker", None)
        if worker is not None:
            worker.cancel()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_async_store() as store:
            options = {"ttl": 15, "retry_period": 1.0, **elector_options}
            elector = AsyncLeaderElector(
                store, "scheduler", holder=holder, on_elected=on_elected, on_lost=on_lost, **options
            )
            state["elector"] = elector.start()
            yield
            await elector.resign()  # shutdown: release the lease now, not at its expiry

    app = FastAPI(lifespan=lifespan)

    @app.get("/leader")
    async def leader() -> dict[str, Any]:
        elector: AsyncLeaderElector = state["elector"]
        return {
            "me": holder,
            "leader": elector.leader,
            "is_leader": elector.is_leader,
            "runs": len(state["runs"]),
        }

    return app


app = build()
