"""Each transition of a held lease is one log record of ``cloudlease.tenure`` with its fields
(``cloudlease.events``), the same from every front door; on a FakeClock."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloudlease import LeaderElector, current_lease, hold, single_runner
from cloudlease.async_store import SyncBackedStore
from cloudlease.cli import main as cloudlease
from cloudlease.events import LOGGER, Transition, add_observer, remove_observer
from cloudlease.testing import FakeClock, FaultyStore
from cloudlease.ticks import done_metadata
from tests.helpers import eventually

TTL = 9.0
FIELDS = ("transition", "lease", "holder", "token", "store", "reason", "waited")


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="cloudlease")
    return caplog


@dataclass(frozen=True)
class Logged:
    """A record of ``cloudlease.tenure``: its fields (``Transition``'s), level and message."""

    transition: str
    lease: str
    holder: str
    token: int | None
    store: str
    reason: str | None = None
    waited: float | None = None
    levelname: str = ""
    message: str = ""


def transitions(caplog: pytest.LogCaptureFixture) -> list[Logged]:
    return [
        Logged(
            **{name: getattr(record, name) for name in FIELDS},
            levelname=record.levelname,
            message=record.getMessage(),
        )
        for record in caplog.records
        if record.name == LOGGER
    ]


def fields(record: Transition | Logged) -> tuple[Any, ...]:
    return (record.transition, record.lease, record.holder, record.token, record.store)


def test_a_scripted_life_logs_each_transition_once_with_its_fields(
    store: FaultyStore, clock: FakeClock, logged: pytest.LogCaptureFixture
) -> None:
    seen: list[Transition] = []
    add_observer(seen.append)
    try:
        store.acquire("job", "b", TTL)
        started = clock.monotonic()
        clock.autoadvance = True  # the campaign's pauses pass at once
        held = hold(store, "job", ttl=TTL, holder="a", wait=60, renewal="manual").acquire()
        clock.autoadvance = False
        waited = clock.monotonic() - started
        first = held.token
        clock.advance(TTL / 3)
        held.step()  # renewed
        store.fail_next("renew", "transient")
        clock.advance(TTL / 3)
        held.step()  # renew_failed
        clock.advance(TTL / 12)
        held.step()  # renewed_late
        store.force_release("job")
        taken = store.acquire("job", "b", TTL)
        clock.advance(TTL / 3)
        assert not held.step()  # lost

        late = hold(store, "other", ttl=TTL, holder="a", renewal="manual").acquire()
        store.fail_next("renew", "transient", times=100)
        while late.step():
            clock.advance(max(late.next_wakeup() - clock.monotonic(), 0.001))
        with hold(store, "third", ttl=TTL, holder="a", renewal="manual") as third:
            pass
        done = hold(store, "tick:1", ttl=TTL, holder="a").acquire()
        done.mark_done(done_metadata({}, job="tick", now_ms=clock.wall_ms(), remember=60), 60)
    finally:
        remove_observer(seen.append)

    url = store.url
    kept = store.get("tick:1")
    assert kept is not None and kept.token > done.token  # marking done re-enters
    records = transitions(logged)
    once = [
        r
        for r, before in zip(records, [None, *records], strict=False)
        if before is None or fields(r) != fields(before)
    ]
    assert [fields(r) for r in once] == [
        ("refused", "job", "a", None, url),
        ("acquired", "job", "a", first, url),
        ("renewed", "job", "a", first, url),
        ("renew_failed", "job", "a", first, url),
        ("renewed_late", "job", "a", first, url),
        ("lost", "job", "a", first, url),
        ("acquired", "other", "a", late.token, url),
        ("renew_failed", "other", "a", late.token, url),  # retried until the deadline
        ("stepped_down", "other", "a", late.token, url),
        ("acquired", "third", "a", third.token, url),
        ("released", "third", "a", third.token, url),
        ("acquired", "tick:1", "a", done.token, url),
        ("done", "tick:1", "a", kept.token, url),
    ]
    assert [r.levelname for r in once[:6]] == [
        "DEBUG", "INFO", "DEBUG", "WARNING", "WARNING", "WARNING"
    ]  # fmt: skip
    assert once[0].reason == "held by b" and once[0].message.startswith("cloudlease: ")
    assert once[1].waited == pytest.approx(waited) and (once[1].waited or 0) >= TTL
    assert once[3].reason == "[lease 'job', store memory://] injected transient fault before renew"
    assert "after 1 failed attempt(s)" in str(once[4].reason)
    assert once[5].reason == held.reason and "lost" in once[5].message
    assert once[8].reason == late.reason and "local deadline" in str(late.reason)
    assert taken.token > first
    assert seen == [Transition(**{f: getattr(r, f) for f in FIELDS}) for r in records]


def test_a_release_that_finds_the_lease_gone_is_logged_as_lost(
    store: FaultyStore, clock: FakeClock, logged: pytest.LogCaptureFixture
) -> None:
    with hold(store, "job", ttl=TTL, holder="a", renewal="manual") as held:
        clock.advance(TTL + 2)
        store.acquire("job", "b", TTL)
    last = transitions(logged)[-1]
    assert fields(last) == ("lost", "job", "a", held.token, store.url)
    assert last.reason == "no longer ours at release (expired or taken over)"


def test_release_failures_and_abandon_are_logged(
    store: FaultyStore, logged: pytest.LogCaptureFixture
) -> None:
    held = hold(store, "job", ttl=TTL, holder="a").acquire()
    store.fail_next("release", "transient")
    held.release()
    handed = hold(store, "other", ttl=TTL, holder="a").acquire()
    handed.abandon("handed off")
    records = transitions(logged)
    assert [(r.transition, r.levelname) for r in records] == [
        ("acquired", "INFO"),
        ("release_failed", "WARNING"),
        ("acquired", "INFO"),
        ("abandoned", "INFO"),
    ]
    assert str(records[1].reason).endswith("injected transient fault before release")
    assert records[3].reason == "handed off"


def front_doors(store: FaultyStore, tmp_path: Path) -> dict[str, Any]:
    def with_hold() -> None:
        with hold(store, "job", ttl=TTL, holder="a"):
            pass

    def elector() -> None:
        node = LeaderElector(store, "job", ttl=TTL, holder="a").start()
        eventually(lambda: node.is_leader)
        node.resign()

    @single_runner(store=store, name="job", ttl=TTL, holder="a")
    def runner() -> int:
        return current_lease().token

    def async_hold() -> None:
        async def main() -> None:
            async with hold(SyncBackedStore(store, hop=False), "job", ttl=TTL, holder="a"):
                pass

        asyncio.run(main())

    def run_command() -> None:
        url = f"sqlite:///{tmp_path / 'leases.db'}"
        assert (
            cloudlease(["run", "--store", url, "--lease", "job", "--holder", "a", "--", "true"])
            == 0
        )

    return {
        "hold": with_hold,
        "LeaderElector": elector,
        "single_runner": runner,
        "async hold": async_hold,
        "cloudlease run": run_command,
    }


@pytest.mark.parametrize(
    "door", ["hold", "LeaderElector", "single_runner", "async hold", "cloudlease run"]
)
def test_every_front_door_logs_the_same_records(
    door: str, store: FaultyStore, tmp_path: Path, logged: pytest.LogCaptureFixture
) -> None:
    front_doors(store, tmp_path)[door]()
    records = transitions(logged)
    assert [(r.transition, r.lease, r.holder) for r in records] == [
        ("acquired", "job", "a"),
        ("released", "job", "a"),
    ]
    assert records[0].token == records[1].token and records[0].store == records[1].store
    assert records[0].store.startswith("sqlite:" if door == "cloudlease run" else "memory:")
