"""Once-per-tick records: the keys a completed tick leaves in its lease's metadata, in one place.

A tick's lease is named ``JOB:TICK``. When the run succeeds, the winner keeps the lease for
``remember`` seconds with this metadata, so a duplicate delivery is refused and learns, from
the record that refused it, that the tick is done; ``cloudlease status`` reads the same keys.

=============  ===========================================================================
key            value
=============  ===========================================================================
job            the job's name (the lease name without its tick)
tick           the tick (a scheduled time, an execution id, a window of the clock)
done           ``true`` once the tick's run succeeded
finished_at    epoch ms at which it succeeded
done_until     epoch ms until which the tick is remembered as done
result         the winner's return value, with ``share_result=True`` (compact JSON of at
               most ``RESULT_MAX_BYTES``), returned to duplicate deliveries
=============  ===========================================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from cloudlease._validation import METADATA_MAX_BYTES, Duration, encode_metadata, to_seconds
from cloudlease.errors import CloudLeaseError, ConfigError
from cloudlease.records import LeaseRecord

JOB = "job"
TICK = "tick"
DONE = "done"
FINISHED_AT = "finished_at"
DONE_UNTIL = "done_until"
RESULT = "result"

#: A shared result is at most this many bytes of compact JSON: it shares the done record's
#: metadata (``METADATA_MAX_BYTES``, 1 KiB) with the tick's own keys and the user's metadata.
RESULT_MAX_BYTES = 512

_UNSAFE = re.compile(r"[^A-Za-z0-9._:\-]+")


def sanitize(text: str) -> str:
    """``text`` with every run of characters a lease name cannot hold replaced by ``_``."""
    return _UNSAFE.sub("_", text).lstrip("._:-")


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


def done_metadata(
    metadata: Mapping[str, Any], *, job: str, now_ms: int, remember: float
) -> dict[str, Any]:
    """The metadata that marks a tick done at ``now_ms``, remembered for ``remember`` s."""
    return {
        **metadata,
        JOB: job,
        DONE: True,
        FINISHED_AT: now_ms,
        DONE_UNTIL: now_ms + round(remember * 1000),
    }


class ResultNotShared(CloudLeaseError):
    """The run succeeded and its tick is marked done, but its result (``share_result=True``)
    could not be stored for duplicates: not JSON-serialisable, or too large. ``result`` is the
    value the function returned; duplicates see the tick done, without a result."""

    def __init__(self, message: str, *, lease: str, store: str, result: Any) -> None:
        super().__init__(message, lease=lease, store=store)
        self.result = result


def with_result(
    done: Mapping[str, Any], result: Any, *, lease: str, store: str
) -> tuple[dict[str, Any], ResultNotShared | None]:
    """``done`` with ``result`` under ``RESULT`` when it fits; else ``done`` unchanged and the
    error to raise once the tick is marked done (the work was done: the tick must stay done)."""
    try:
        encoded = json.dumps(result, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        return dict(done), ResultNotShared(
            f"the tick is done, but its result is not JSON-serialisable ({exc}), so duplicate "
            "deliveries cannot get it: return str, int, float, bool, None, lists and dicts "
            "with str keys, or drop share_result",
            lease=lease,
            store=store,
            result=result,
        )
    shared = {**done, RESULT: json.loads(encoded)}
    total = len(encode_metadata(shared))
    if len(encoded) > RESULT_MAX_BYTES or total > METADATA_MAX_BYTES:
        return dict(done), ResultNotShared(
            f"the tick is done, but its result is {len(encoded)} bytes of JSON (the done "
            f"record would be {total} bytes): a shared result is at most {RESULT_MAX_BYTES} "
            f"bytes and the record's metadata at most {METADATA_MAX_BYTES}; return a small "
            "summary (ids, counts) and keep the rest where the work wrote it",
            lease=lease,
            store=store,
            result=result,
        )
    return shared, None


def shared_result(record: LeaseRecord) -> tuple[bool, Any]:
    """``(True, result)`` when ``record`` holds a winner's shared result, else ``(False, None)``."""
    meta = record.metadata
    return (True, meta[RESULT]) if RESULT in meta else (False, None)


def is_done(record: LeaseRecord, now_ms: int) -> bool:
    """True when ``record`` marks a completed tick that is still remembered at ``now_ms``."""
    meta = record.metadata
    until = meta.get(DONE_UNTIL)
    return meta.get(DONE) is True and isinstance(until, int) and until > now_ms


def was_done(record: LeaseRecord) -> bool:
    """True when ``record`` marks a completed tick, remembered or not."""
    return record.metadata.get(DONE) is True


def last_successes(records: Iterable[LeaseRecord]) -> dict[str, tuple[str, int]]:
    """Per job, the newest completed tick and when it finished (for ``cloudlease status``)."""
    latest: dict[str, tuple[str, int]] = {}
    for record in records:
        meta = record.metadata
        job, tick, finished = meta.get(JOB), meta.get(TICK), meta.get(FINISHED_AT)
        if not was_done(record) or not isinstance(job, str) or not isinstance(finished, int):
            continue
        if job not in latest or latest[job][1] < finished:
            latest[job] = (str(tick), finished)
    return latest
