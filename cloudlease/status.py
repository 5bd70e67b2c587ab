"""What ``cloudlease status`` shows: one row per lease record and, with ``--watch``, what
changed since the previous refresh.

It only reads (``store.records()``, or ``store.get()`` for one lease), so it works on every
store kind; each refresh is one listing. Changes are told apart by comparing two listings:

========================  ==================================================================
change                    what the later listing shows
========================  ==================================================================
``new``                   a record that was not there (first use of the name)
``gone``                  the record was deleted (``cloudlease purge``, a TTL sweep)
``done``                  a once-per-tick record newly marked done
``new holder``            a greater token and another holder (a takeover or a failover)
``re-acquired``           a greater token, the same holder (a new term)
``acquired+released``     a greater token, and free again already
``released``              the same token, no holder any more
``renewed``               the same token and holder, a later expiry
``expired``               the same token and holder, past its expiry now (not renewed)
``metadata``              only the metadata changed
========================  ==================================================================
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from cloudlease.records import LeaseRecord
from cloudlease.ticks import TICK, is_done, last_successes, was_done

COLUMNS = ("NAME", "HOLDER", "TOKEN", "HELD FOR", "EXPIRES IN", "TRANSITIONS", "DONE TICK")


@dataclass(frozen=True)
class Snapshot:
    """The records one listing returned, and the reader's wall clock (epoch ms) just after."""

    at_ms: int
    records: tuple[LeaseRecord, ...]

    def by_name(self) -> dict[str, LeaseRecord]:
        return {record.name: record for record in self.records}


@dataclass(frozen=True)
class Refresh:
    """One refresh of ``--watch``: its number (from 1), the listing and what changed since
    the previous one (empty on the first)."""

    number: int
    snapshot: Snapshot
    changes: Mapping[str, str]


def read(store: Any, lease: str | None = None) -> Snapshot:
    """List ``store`` (only ``lease`` when given) with one read; a ``lease`` with no record of
    its own that is a semaphore lists its slots' records (``NAME.slot-K``) with a second."""
    if lease:
        record = store.get(lease)
        records = () if record is None else (record,)
        if record is None:
            from cloudlease._slots import SUFFIX

            prefix = lease + SUFFIX
            records = tuple(
                r
                for r in store.records()
                if r.name.startswith(prefix) and r.name[len(prefix) :].isdigit()
            )
    else:
        records = tuple(store.records())
    return Snapshot(store.clock.wall_ms(), records)


def change(before: LeaseRecord | None, after: LeaseRecord | None, then_ms: int, now_ms: int) -> str:
    """How the record went from ``before`` (listed at ``then_ms``) to ``after`` (at
    ``now_ms``): one word of the table above, ``""`` when nothing changed."""
    if before is None or after is None:
        return "" if before is after else ("new" if before is None else "gone")
    if was_done(after) and not was_done(before):
        return "done"
    if after.token != before.token:
        if not after.holder:
            return "acquired+released"
        return "re-acquired" if after.holder == before.holder else "new holder"
    if before.holder and not after.holder:
        return "released"
    if after.holder and after.expires_at != before.expires_at:
        return "renewed"
    if after.holder and after.is_expired(now_ms) and not before.is_expired(then_ms):
        return "expired"
    return "metadata" if after.metadata != before.metadata else ""


def changes(previous: Snapshot | None, current: Snapshot) -> dict[str, str]:
    """What changed per lease name between two listings (only the names that changed)."""
    if previous is None:
        return {}
    before, after = previous.by_name(), current.by_name()
    found = {
        name: change(before.get(name), after.get(name), previous.at_ms, current.at_ms)
        for name in sorted(before.keys() | after.keys())
    }
    return {name: what for name, what in found.items() if what}


def span(seconds: float) -> str:
    """A duration as people read it: ``4.2s``, ``3m05s``, ``2h01m``, ``3d04h``."""
    whole = int(seconds)
    if seconds < 60:
        return f"{seconds:.1f}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d{whole % 86400 // 3600:02d}h"


def expires_in(record: LeaseRecord, now_ms: int) -> str:
    if record.holder == "":
        return "free"
    if is_done(record, now_ms):
        return f"done (kept {span((record.expires_at - now_ms) / 1000)})"
    left = (record.expires_at - now_ms) / 1000
    return span(left) if left >= 0 else f"expired {span(-left)} ago"


def held_for(record: LeaseRecord, now_ms: int) -> str:
    """How long the holder has held the lease (since its grant; a re-entry keeps it)."""
    if record.holder == "" or was_done(record) or record.is_expired(now_ms):
        return "-"
    return span(max(now_ms - record.acquired_at, 0) / 1000)


def row(record: LeaseRecord, now_ms: int) -> list[str]:
    """The cells of ``COLUMNS`` for one record."""
    tick = record.metadata.get(TICK) if was_done(record) else None
    return [
        record.name,
        record.holder or "-",
        str(record.token),
        held_for(record, now_ms),
        expires_in(record, now_ms),
        str(record.transitions),
        "" if tick is None else str(tick),
    ]


def table(snapshot: Snapshot, marks: Mapping[str, str] | None = None) -> list[str]:
    """The listing as aligned lines; with ``marks`` (``--watch``) a CHANGE column, and a row
    for each record that is gone."""
    header = [*COLUMNS, *(["CHANGE"] if marks is not None else []), "METADATA"]
    rows = [header]
    now_ms = snapshot.at_ms
    listed = snapshot.by_name()
    for name in sorted(listed.keys() | (marks or {}).keys()):
        record = listed.get(name)
        cells = row(record, now_ms) if record else [name, *["-"] * (len(COLUMNS) - 1)]
        if marks is not None:
            cells.append(marks.get(name, ""))
        metadata = record.metadata if record else {}
        cells.append(json.dumps(metadata, separators=(",", ":")) if metadata else "")
        rows.append(cells)
    widths = [max(len(cells[i]) for cells in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) for cells in rows]
    successes = last_successes(snapshot.records)
    if successes:
        lines += ["", "LAST SUCCESSFUL RUN (once-per-tick jobs)"]
        for job, (tick, finished_at) in sorted(successes.items()):
            ago = span((now_ms - finished_at) / 1000)
            lines.append(f"  {job}: tick {tick}, finished {ago} ago (epoch ms {finished_at})")
    return [line.rstrip() for line in lines]


def as_json(refresh: Refresh) -> dict[str, Any]:
    """One refresh of ``--watch --json``: ``at`` (epoch ms), ``records``, ``changes``."""
    return {
        "at": refresh.snapshot.at_ms,
        "records": [record.to_json() for record in refresh.snapshot.records],
        "changes": dict(refresh.changes),
    }


def watch(
    store: Any, *, interval: float, count: int | None = None, lease: str | None = None
) -> Iterator[Refresh]:
    """List ``store`` every ``interval`` seconds (waiting on the store's Clock), ``count``
    times (forever without it), each listing with what changed since the one before."""
    never = threading.Event()
    previous: Snapshot | None = None
    number = 0
    while count is None or number < count:
        if previous is not None:
            store.clock.wait(never, interval)
        current = read(store, lease)
        number += 1
        yield Refresh(number, current, changes(previous, current))
        previous = current
