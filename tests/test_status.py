"""``cloudlease status``: the listing and ``--watch``'s changes, on a FakeClock (no sleeping).

Every store kind lists through the conformance suite
(``test_status_lists_every_lease_and_what_changed``); here, each change the watch can mark,
on a MemoryStore whose clock moves only when the watch waits (``autoadvance``).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from cloudlease import status
from cloudlease.records import LeaseRecord
from cloudlease.stores.memory import MemoryStore
from cloudlease.testing import FakeClock
from cloudlease.ticks import done_metadata

INTERVAL = 10.0


@pytest.fixture
def memory(clock: FakeClock) -> MemoryStore:
    clock.autoadvance = True  # a watch's wait moves fake time at once
    return MemoryStore(clock=clock)


def record(memory: MemoryStore, name: str) -> LeaseRecord:
    found = memory.get(name)
    assert found is not None
    return found


def test_watch_marks_each_kind_of_change_between_listings(
    memory: MemoryStore, clock: FakeClock
) -> None:
    listings = status.watch(memory, interval=INTERVAL)
    started = clock.monotonic()

    def after(act: Callable[[], object]) -> dict[str, str]:
        act()
        return dict(next(listings).changes)

    assert next(listings).changes == {}
    lease = memory.acquire("job", "a", 30)
    assert after(lambda: None) == {"job": "new"}
    clock.advance(1)
    assert after(lambda: memory.renew(lease, 30)) == {"job": "renewed"}
    assert after(lambda: None) == {}
    assert after(lambda: memory.acquire("job", "a", 30)) == {"job": "re-acquired"}
    assert after(lambda: clock.advance(15)) == {"job": "expired"}
    taken = memory.acquire("job", "b", 30)
    assert after(lambda: None) == {"job": "new holder"}
    assert after(lambda: memory.release(taken)) == {"job": "released"}
    again = memory.acquire("job", "c", 30)
    assert after(lambda: memory.release(again)) == {"job": "acquired+released"}
    noted = record(memory, "job").replace(metadata={"note": "x"})
    assert after(lambda: memory.put(noted)) == {"job": "metadata"}
    assert after(lambda: memory.acquire("tick:1", "a", 30)) == {"tick:1": "new"}
    done = done_metadata({"tick": "1"}, job="tick", now_ms=clock.wall_ms(), remember=60)
    assert after(lambda: memory.acquire("tick:1", "a", 60, done)) == {"tick:1": "done"}
    assert after(lambda: memory.delete_record("job")) == {"job": "gone"}
    assert clock.monotonic() - started == pytest.approx(1 + 15 + 12 * INTERVAL)


def test_the_table_shows_held_for_expiry_transitions_done_tick_and_gone_rows(
    memory: MemoryStore, clock: FakeClock
) -> None:
    memory.acquire("job", "a", 30)
    clock.advance(125)
    memory.acquire("job", "b", 86400)
    clock.advance(7300)
    now_ms = clock.wall_ms()
    done = done_metadata({"tick": "T1"}, job="nightly", now_ms=now_ms, remember=90)
    memory.acquire("nightly:T1", "c", 90, done)
    memory.release(memory.acquire("free-job", "d", 30))
    memory.acquire("old", "e", 30)
    clock.advance(45)
    snapshot = status.read(memory)
    assert [status.row(r, snapshot.at_ms) for r in snapshot.records] == [
        ["free-job", "-", str(record(memory, "free-job").token), "-", "free", "1", ""],
        ["job", "b", str(record(memory, "job").token), "2h02m", "21h57m", "2", ""],
        ["nightly:T1", "c", str(record(memory, "nightly:T1").token), "-", "done (kept 45.0s)",
         "1", "T1"],
        ["old", "e", str(record(memory, "old").token), "-", "expired 15.0s ago", "1", ""],
    ]  # fmt: skip
    lines = status.table(snapshot, {"gone-job": "gone", "job": "new holder"})
    assert lines[0].split()[-2:] == ["CHANGE", "METADATA"]
    gone = next(line for line in lines if line.startswith("gone-job"))
    assert gone.split() == ["gone-job", "-", "-", "-", "-", "-", "-", "gone"]
    assert "new holder" in next(line for line in lines if line.startswith("job "))
    last = f"  nightly: tick T1, finished 45.0s ago (epoch ms {now_ms})"
    assert lines[-2:] == ["LAST SUCCESSFUL RUN (once-per-tick jobs)", last]


def test_one_lease_is_read_with_get_and_a_missing_one_lists_nothing(memory: MemoryStore) -> None:
    memory.acquire("job", "a", 30)
    memory.acquire("other", "a", 30)
    assert [r.name for r in status.read(memory, "job").records] == ["job"]
    assert status.read(memory, "nobody").records == ()


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.04, "0.0s"), (59.94, "59.9s"), (60, "1m00s"), (3599, "59m59s"), (3600, "1h00m"),
     (86399, "23h59m"), (86400, "1d00h"), (90061, "1d01h")],
)  # fmt: skip
def test_spans_read_as_people_read_them(seconds: float, shown: str) -> None:
    assert status.span(seconds) == shown
