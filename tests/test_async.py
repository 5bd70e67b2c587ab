"""The async side: ``async with hold()`` renewing on the loop, cancellation, a blocked loop,
the async elector and ``@single_runner`` on async stores, and the bad input of mixing sides."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest

from cloudlease import (
    AsyncLeaderElector,
    AsyncTenure,
    ConfigError,
    LeaderElector,
    LeaseHeld,
    LeaseLost,
    StoreUnavailable,
    current_lease,
    every,
    hold,
    open_async_store,
    open_store,
    single_runner,
)
from cloudlease.async_store import SyncBackedStore
from cloudlease.lease import Lease
from cloudlease.stores.aio import AsyncMemoryStore, AsyncSQLiteStore
from cloudlease.stores.memory import MemoryStore
from cloudlease.testing.clock import FakeClock
from cloudlease.testing.faults import FaultyStore

TTL = 3.0


def run(main: Callable[[], Coroutine[Any, Any, Any]]) -> Any:
    return asyncio.run(main())


async def until(condition: Callable[[], bool], what: str = "condition") -> None:
    """Let the loop run (real time, at most 5 s) until ``condition`` holds."""
    for _ in range(5000):
        if condition():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def faulty(clock: FakeClock) -> FaultyStore:
    """A memory store that counts requests (and injects faults), seen from the async side."""
    return FaultyStore(MemoryStore(clock=clock))


@pytest.fixture
def astore(faulty: FaultyStore) -> SyncBackedStore:
    return SyncBackedStore(faulty, hop=False)


# -- async with hold() ----------------------------------------------------------------------


def test_async_hold_renews_on_the_loop_with_no_thread_and_releases_on_exit(
    astore: SyncBackedStore, faulty: FaultyStore, clock: FakeClock
) -> None:
    async def main() -> AsyncTenure:
        threads = threading.active_count()
        async with hold(astore, "job", ttl=TTL) as held:
            assert isinstance(held, AsyncTenure)
            assert threading.active_count() == threads
            first = held.lease.expires_at
            await until(lambda: clock.sleepers() == 1, "the renewal task to sleep")
            clock.advance(TTL / 3)
            await until(lambda: held.lease.expires_at > first, "a renewal")
            assert faulty.requests["renew"] == 1
            held.ensure()
        return held

    held = run(main)
    assert held.lost.is_set() and held.reason == "released"
    assert dict(faulty.requests) == {"acquire": 1, "renew": 1, "release": 1}
    record = faulty.get("job")
    assert record is not None and record.holder == ""


def test_a_thousand_async_holds_take_no_thread() -> None:
    store = AsyncMemoryStore()

    async def main() -> None:
        threads = threading.active_count()
        entered, done = asyncio.Semaphore(0), asyncio.Event()

        async def one(i: int) -> None:
            async with hold(store, f"partition-{i}", ttl=30):
                entered.release()
                await done.wait()

        tasks = [asyncio.create_task(one(i)) for i in range(1000)]
        for _ in tasks:
            await entered.acquire()
        assert threading.active_count() == threads
        assert sum(1 for r in await store.records() if r.holder) == 1000
        done.set()
        await asyncio.gather(*tasks)
        assert not any(r.holder for r in await store.records())

    run(main)


def test_a_held_lease_refuses_a_contender_and_wait_takes_it_once_free(
    astore: SyncBackedStore, clock: FakeClock
) -> None:
    async def main() -> None:
        async with hold(astore, "job", ttl=TTL, holder="a"):
            with pytest.raises(LeaseHeld):
                async with hold(astore, "job", ttl=TTL, holder="b"):
                    pytest.fail("must not enter")
            waiter = asyncio.create_task(
                hold(astore, "job", ttl=TTL, holder="b", wait=10).acquire()
            )
            await until(lambda: clock.sleepers() == 2, "the waiter to pause")  # + renewal
        await until(lambda: clock.sleepers() == 1, "only the waiter")
        clock.advance(1.5)  # a campaign pause: retry_every (1 s) stretched by up to 20%
        held = await waiter
        assert held.lease.holder == "b"
        await held.release()

    run(main)


def test_a_steal_on_the_async_side_cuts_the_holder_off_at_its_next_renewal(
    astore: SyncBackedStore, clock: FakeClock
) -> None:
    async def main() -> None:
        async with hold(astore, "job", ttl=TTL, holder="a") as held:
            stealer = hold(astore, "job", ttl=TTL, holder="b")
            assert isinstance(stealer, AsyncTenure)
            grant = await stealer.steal()
            assert grant.token > held.token
            clock.advance(TTL / 2)  # a's renewal is due: the store refuses it
            await until(held.lost.is_set, "the old holder to step down")
            assert held.reason is not None and "now held by 'b'" in held.reason
        record = await astore.get("job")
        assert record is not None and (record.holder, record.token) == ("b", grant.token)
        assert await stealer.release()

    run(main)


# -- cancellation ---------------------------------------------------------------------------


def test_cancelling_the_task_inside_async_with_releases_the_lease(
    astore: SyncBackedStore, faulty: FaultyStore
) -> None:
    async def main() -> None:
        entered = asyncio.Event()

        async def worker() -> None:
            async with hold(astore, "job", ttl=TTL):
                entered.set()
                await asyncio.sleep(3600)

        task = asyncio.create_task(worker())
        await entered.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(main)
    record = faulty.get("job")
    assert record is not None and record.holder == ""
    assert faulty.requests["release"] == 1


class StuckRelease(SyncBackedStore):
    """A release request that never answers (until cancelled)."""

    def __init__(self, inner: MemoryStore) -> None:
        super().__init__(inner, hop=False)
        self.releasing = asyncio.Event()

    async def _release(self, lease: Lease, now_ms: int) -> bool:
        self.releasing.set()
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")


def test_a_cancelled_release_leaves_the_lease_to_expire(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    inner = MemoryStore(clock=clock)

    async def main() -> AsyncTenure:
        store = StuckRelease(inner)
        entered = asyncio.Event()
        holding: list[AsyncTenure] = []

        async def worker() -> None:
            async with hold(store, "job", ttl=TTL, holder="a") as held:
                holding.append(held)
                entered.set()
                await asyncio.sleep(3600)

        task = asyncio.create_task(worker())
        await entered.wait()
        task.cancel()  # leaving the block: the release starts...
        await store.releasing.wait()
        task.cancel()  # ...and is cancelled too
        with pytest.raises(asyncio.CancelledError):
            await task
        return holding[0]

    with caplog.at_level(logging.WARNING, logger="cloudlease"):
        held = run(main)
    assert held.lost.is_set()
    assert "expires at its ttl" in caplog.text
    record = inner.get("job")
    assert record is not None and record.holder == "a"  # left to expire, not released
    with pytest.raises(LeaseHeld):
        inner.acquire("job", "b", TTL)
    clock.advance(TTL + 0.001)
    assert inner.acquire("job", "b", TTL).holder == "b"


# -- a blocked loop -------------------------------------------------------------------------


def test_a_loop_blocked_past_the_deadline_steps_down_without_renewing() -> None:
    faulty = FaultyStore(MemoryStore())  # the system clock: the loop really blocks
    store = SyncBackedStore(faulty, hop=False)
    lost: list[AsyncTenure] = []

    async def main() -> AsyncTenure:
        async with hold(store, "job", ttl=0.5, on_lost=lost.append) as held:
            time.sleep(0.6)  # blocks the loop longer than the ttl (margin: 0.05 s)
            await until(held.lost.is_set, "the step-down")
            with pytest.raises(LeaseLost):
                held.ensure()
        return held

    held = run(main)
    assert lost == [held]
    assert held.reason == "renewals failed until the local deadline; stepped down"
    assert faulty.requests["renew"] == 0


# -- ambiguous outcomes, resolved by the async flows -----------------------------------------


def test_lost_responses_are_resolved_by_reading_back_on_the_async_side(
    astore: SyncBackedStore, faulty: FaultyStore, clock: FakeClock
) -> None:
    async def main() -> None:
        faulty.fail_next("acquire", "lost")
        lease = await astore.acquire("job", "a", TTL)  # applied, answer lost: read back
        assert faulty.requests == {"acquire": 1, "get": 1}
        clock.advance(1)
        faulty.fail_next("renew", "lost")
        renewed = await astore.renew(lease)
        assert renewed.expires_at == lease.expires_at + 1000
        faulty.fail_next("release", "lost")
        assert await astore.release(renewed) is True
        faulty.fail_next("acquire", "transient")
        with pytest.raises(StoreUnavailable):
            await astore.acquire("job", "b", TTL)
        record = await astore.get("job")
        assert record is not None and record.holder == ""

    run(main)


# -- sides mixed up -------------------------------------------------------------------------


def test_with_on_an_async_store_names_async_with() -> None:
    with (
        pytest.raises(ConfigError, match=r"async with hold\(\.\.\.\)'.*open_store\(url\)"),
        hold(AsyncMemoryStore(), "job"),
    ):
        pytest.fail("must not enter")


def test_async_with_on_a_sync_store_names_open_async_store() -> None:
    async def main() -> None:
        async with hold(MemoryStore(), "job"):
            pytest.fail("must not enter")

    with pytest.raises(ConfigError, match=r"'with hold\(\.\.\.\)'.*open_async_store\(url\)"):
        run(main)


def test_a_plain_function_on_an_async_store_is_refused_at_decoration() -> None:
    with pytest.raises(ConfigError, match=r"decorate an 'async def'.*open_store"):

        @single_runner(store=AsyncMemoryStore(), name="job")
        def job() -> None: ...


def test_electors_refuse_the_other_side_naming_their_twin() -> None:
    with pytest.raises(ConfigError, match=r"use AsyncLeaderElector.*open_store"):
        LeaderElector(AsyncMemoryStore(), "leader")
    with pytest.raises(ConfigError, match=r"use LeaderElector.*open_async_store"):
        AsyncLeaderElector(MemoryStore(), "leader")


# -- the same URLs --------------------------------------------------------------------------


def test_open_async_store_opens_the_async_side_of_the_same_url(tmp_path: Path) -> None:
    async def main() -> None:
        for url in ("memory://async-url", f"sqlite:///{tmp_path}/leases.db"):
            sync, asynchronous = open_store(url), open_async_store(url)
            assert asynchronous.url == sync.url and asynchronous.is_async
            lease = await asynchronous.acquire("job", "a", TTL)
            assert sync.get("job") == lease.record  # one record, both sides
            assert await asynchronous.release(lease)
            await asynchronous.close()

    run(main)
    assert isinstance(AsyncSQLiteStore(tmp_path / "x.db"), SyncBackedStore)


def test_a_scheme_without_an_async_side_names_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    from cloudlease import urls

    def installed(group: str = urls.ENTRY_POINT_GROUP) -> dict[str, str]:
        sync = group == urls.ENTRY_POINT_GROUP
        return {**urls._BUILTIN, "s3": "x:y"} if sync else dict(urls._ASYNC_BUILTIN)

    monkeypatch.setattr(urls, "_installed", installed)
    with pytest.raises(ConfigError, match=r"no async store .* 's3'.*use its sync side"):
        open_async_store("s3://bucket")
    with pytest.raises(ConfigError, match=r"install cloudlease-dynamodb\[async\]"):
        open_async_store("dynamodb://leases")
    with pytest.raises(ConfigError, match=r"no async store.*'redis'.*known schemes"):
        open_async_store("redis://x")


# -- @single_runner and the elector ---------------------------------------------------------


def test_single_runner_on_an_async_def_awaits_the_async_store_with_no_thread(
    astore: SyncBackedStore, faulty: FaultyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_thread(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("to_thread used")

    monkeypatch.setattr(asyncio, "to_thread", no_thread)

    @single_runner(store=astore, name="job")
    async def job(x: int) -> tuple[int, bool]:
        await asyncio.sleep(0)
        return x + 1, isinstance(current_lease(), AsyncTenure)

    assert run(lambda: job(1)) == (2, True)
    assert dict(faulty.requests) == {"acquire": 1, "release": 1}


def test_single_runner_on_an_async_def_opens_the_async_side_of_a_url() -> None:
    runs: list[str] = []

    @single_runner(store="memory://async-ticks", name="tick", tick=every(60))
    async def tick() -> str:
        runs.append(current_lease().name)
        return "ran"

    async def main() -> list[Any]:
        return [await tick(), await tick()]

    assert run(main) == ["ran", None]  # the second call finds its tick done
    assert len(runs) == 1
    record = open_store("memory://async-ticks").records()[0]
    assert record.metadata.get("done") is True


def test_single_runner_overlap_skip_on_the_async_side_lets_the_tick_go(
    astore: SyncBackedStore, faulty: FaultyStore
) -> None:
    """The runner's flows with a job lease (overlap) on the loop: a tick whose predecessor
    still runs is skipped (tick acquired, job refused, tick let go), then runs once free."""

    @single_runner(
        store=astore,
        name="sweep",
        tick=lambda event, *_: event["time"],
        overlap="skip",
        skipped="skipped",
    )
    async def job(event: dict[str, str], inside: asyncio.Event, go_on: asyncio.Event) -> str:
        if event["time"] == "t1":
            inside.set()
            await go_on.wait()
        return current_lease().name

    async def main() -> list[str]:
        inside, go_on = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(job({"time": "t1"}, inside, go_on))
        await inside.wait()
        faulty.requests.clear()
        skipped = await job({"time": "t2"}, inside, go_on)
        assert dict(faulty.requests) == {"acquire": 2, "release": 1}
        go_on.set()
        return [await first, skipped, await job({"time": "t2"}, inside, go_on)]

    assert run(main) == ["sweep", "skipped", "sweep"]  # current_lease(): the job's lease
    record = faulty.get("sweep")
    assert record is not None and record.holder == "" and record.metadata["tick"] == "t2"


def test_async_elector_leads_renews_and_hands_over_on_resign(
    astore: SyncBackedStore, faulty: FaultyStore, clock: FakeClock
) -> None:
    events: list[tuple[str, Any]] = []

    async def main() -> None:
        a = AsyncLeaderElector(
            astore,
            "leader",
            ttl=TTL,
            holder="a",
            on_elected=lambda held: events.append(("elected", held.holder)),
            on_lost=lambda held: events.append(("lost", held.holder)),
        ).start()
        await until(lambda: a.is_leader, "a to lead")
        b = AsyncLeaderElector(astore, "leader", ttl=TTL, holder="b").start()
        await until(lambda: b.leader == "a", "b to observe a")
        clock.advance(TTL / 3)
        await until(lambda: faulty.requests["renew"] >= 1, "a renewal")
        assert a.is_leader and not b.is_leader
        await a.resign()
        assert events == [("elected", "a"), ("lost", "a")]
        for _ in range(5):
            clock.advance(1.0)
            await asyncio.sleep(0.01)
        await until(lambda: b.is_leader, "b to take over")
        await b.resign()

    run(main)
    record = faulty.get("leader")
    assert record is not None and record.holder == ""


# -- nothing async is paid for by sync users ------------------------------------------------

ASYNC_MODULES = (
    "asyncio",
    "aiobotocore",
    "aiohttp",
    "azure.storage.blob.aio",
    "cloudlease.async_store",
    "cloudlease.async_tenure",
    "cloudlease.async_elector",
    "cloudlease.stores.aio",
    "cloudlease_firestore.aio",
)


@pytest.mark.parametrize(
    "code",
    [
        "import cloudlease",
        "from cloudlease import hold, open_store, single_runner, LeaderElector",
        "from cloudlease import hold, open_store\n"
        "with hold(open_store('memory://'), 'job', ttl=3): pass\n"
        "with hold(open_store('sqlite:///' + TMP + '/l.db'), 'job', ttl=3): pass",
    ],
)
def test_sync_users_load_neither_asyncio_nor_the_async_side(code: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    check = f"TMP = {str(tmp_path)!r}\n{code}\nimport sys\n" + (
        f"print(sorted(m for m in {ASYNC_MODULES!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
