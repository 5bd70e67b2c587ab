"""Deleting a lease record by hand without letting fencing tokens go down.

A record created afresh takes its writer's clock in µs as its token. Every token is at most
true time + A (A: the clock-skew bound) and a re-creator's clock reads at least true time - A, so
a record deleted more than 2A after its last grant is re-created with a greater token
(docs/tokens.md). ``purge`` checks that on the record itself before deleting it: the record is
free (released, or expired beyond the takeover allowance), and its token, read in its own unit
(µs, or ms for a schema-1 record of an older cloudlease), is more than ``2A + in_flight``
behind this client's clock. ``in_flight`` covers an acquire that read its clock before the
deletion and lands after it.

Limit: the check and the delete are two requests. An acquisition landing between them is
deleted with the record (its holder learns it at its next renewal). Purge leases nobody is
campaigning for.
"""

from __future__ import annotations

from dataclasses import dataclass

from cloudlease._validation import Duration, to_seconds
from cloudlease.clock import wall_us
from cloudlease.errors import CloudLeaseError
from cloudlease.records import SCHEMA, LeaseRecord
from cloudlease.store import BaseStore

#: Default allowance for an acquire still on its way (read its clock, not landed yet).
DEFAULT_IN_FLIGHT = 60.0


class PurgeRefused(CloudLeaseError):
    """The record may not be deleted yet: ``record`` as read, ``retry_in`` seconds (or None
    while it is held)."""

    def __init__(
        self,
        message: str,
        *,
        lease: str,
        store: str,
        record: LeaseRecord,
        retry_in: float | None,
    ) -> None:
        super().__init__(message, lease=lease, store=store)
        self.record = record
        self.retry_in = retry_in


@dataclass(frozen=True)
class Verdict:
    """Whether ``record`` may be deleted now; else why, and in how many seconds (None: held)."""

    allowed: bool
    reason: str
    retry_in: float | None


def judge(
    record: LeaseRecord, *, now_us: int, bound: float, in_flight: float, allowance: float = 0.0
) -> Verdict:
    """The purge rule, as a pure function of the record and this client's clock.

    ``bound`` is the clock-skew bound A (the token rule's), ``allowance`` the store's takeover
    allowance (when an expired record counts as free)."""
    now_ms = now_us // 1000
    if not record.is_free(now_ms, round(allowance * 1000)):
        return Verdict(
            False,
            f"held by {record.holder!r} (token {record.token}) until epoch ms "
            f"{record.expires_at}; purge deletes only free records: release it first "
            f"(cloudlease release --lease {record.name} --force) or wait until it expires",
            None,
        )
    per_second = 1_000_000 if record.schema >= SCHEMA else 1000  # the token's unit
    now = now_us if per_second == 1_000_000 else now_ms
    margin = round((2 * bound + in_flight) * per_second)
    age = now - record.token
    if age <= margin:
        wait = (margin - age + 1) / per_second
        return Verdict(
            False,
            f"token {record.token} was granted {max(age, 0) / per_second:.3f}s ago; a record "
            f"is deleted only more than 2 x the clock-skew bound + {in_flight:g}s in flight "
            f"({margin / per_second:g}s) after its last grant, or a new acquisition could get "
            f"a smaller token (docs/tokens.md): retry in {wait:.3f}s",
            wait,
        )
    return Verdict(True, f"free, token {record.token} granted {age / per_second:.3f}s ago", 0.0)


def purge(
    store: BaseStore, name: str, *, in_flight: Duration = DEFAULT_IN_FLIGHT
) -> LeaseRecord | None:
    """Delete lease ``name``'s record if ``judge`` allows it; return it, or None if absent.

    Raise PurgeRefused (nothing deleted) when the record is held or was granted too recently.
    """
    margin = to_seconds(in_flight, what="in_flight", store=store.url, allow_zero=True)
    record = store.get(name)
    if record is None:
        return None
    verdict = judge(
        record,
        now_us=wall_us(store.clock),
        bound=store.clock_skew_bound,
        in_flight=margin,
        allowance=store.takeover_allowance,
    )
    if not verdict.allowed:
        raise PurgeRefused(
            verdict.reason, lease=name, store=store.url, record=record, retry_in=verdict.retry_in
        )
    store.delete_record(name)
    return record
