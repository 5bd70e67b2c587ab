"""How a lease record changes, written once for every store that reads before it writes.

Memory, SQLite, Firestore and Azure read the record and write the next one inside one atomic
step (a lock, a transaction, a blob lease); they all call these functions, so the rules below
exist in one place. DynamoDB states the same rules as condition expressions (its
``expressions.py`` says where it cannot read first).

Rules (DESIGN.md, "The store contract" and "The lease record"; proof in docs/tokens.md):

- acquire succeeds when the record is absent, released, expired beyond the skew allowance,
  or already names the same holder (re-entry after a lost response);
- fencing tokens count wall-clock MICROseconds: a record created afresh (first use, or after
  deletion) starts at the writer's ``now_us``, and every acquisition writes
  ``max(previous + 1, now_us)`` (``previous + 1`` on DynamoDB, which cannot read first). A
  burst of acquisitions cannot outrun the clock (it would take more than one grant per µs),
  so a token is never above true time + A (A: the skew allowance), and a record deleted at
  least 2A after its last grant is re-created with a greater token;
- records carry ``schema``: 2 for records written under this rule; 1 for records written by
  an older cloudlease (millisecond tokens, which are far below microsecond ones, so the change
  of unit only raises tokens). An acquisition lifts a schema-1 record to schema 2;
- renew and release are conditional on holder and token; release clears the holder, keeps
  the token and sets ``expires_at`` to the release time (the same rule as DynamoDB's
  ``RELEASE_UPDATE``, which cannot take a minimum).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

#: The record layout and token rule this cloudlease writes: 2 = microsecond tokens.
#: Records without a schema marker were written by cloudlease before it (schema 1, ms tokens).
SCHEMA = 2
#: The schema of a record that carries no marker.
LEGACY_SCHEMA = 1

_log = logging.getLogger("cloudlease")


@dataclass(frozen=True)
class LeaseRecord:
    """One lease as a store holds it (all times in wall-clock epoch milliseconds).

    ``holder`` is ``""`` when the lease is free. ``token`` is the fencing token: strictly greater
    on every acquisition, never reused, kept on release (epoch µs at the latest grant, at most;
    see the module docstring). ``schema`` is 1 for records written by a cloudlease that counted
    tokens in ms.
    """

    name: str
    holder: str
    token: int
    expires_at: int
    acquired_at: int = 0
    renewed_at: int = 0
    transitions: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    schema: int = SCHEMA

    @property
    def is_released(self) -> bool:
        return self.holder == ""

    def is_expired(self, now_ms: int, skew_ms: int = 0) -> bool:
        """True when a contender whose clock reads ``now_ms`` may take the lease over."""
        return now_ms > self.expires_at + skew_ms

    def is_free(self, now_ms: int, skew_ms: int = 0) -> bool:
        """True when the lease is released or expired beyond the skew allowance."""
        return self.is_released or self.is_expired(now_ms, skew_ms)

    def to_json(self) -> dict[str, Any]:
        """A plain dict (the shape of ``cloudlease status --json``)."""
        return {
            "name": self.name,
            "holder": self.holder or None,
            "token": self.token,
            "expires_at": self.expires_at,
            "acquired_at": self.acquired_at,
            "renewed_at": self.renewed_at,
            "transitions": self.transitions,
            "metadata": dict(self.metadata),
            "schema": self.schema,
        }


@dataclass(frozen=True)
class AcquireRequest:
    """One acquire attempt. ``expires_at`` identifies the attempt when reading back.

    ``now_us`` is the same clock reading in µs, the floor of the attempt's token (0: derive it
    from ``now_ms``). ``steals`` (a steal, ``cloudlease steal``) is the (holder, token) the
    stealer read: the attempt may also take the lease while the record still names them.
    """

    name: str
    holder: str
    ttl_ms: int
    now_ms: int
    skew_ms: int
    metadata: dict[str, Any]
    now_us: int = 0
    steals: tuple[str, int] | None = None

    @property
    def expires_at(self) -> int:
        return self.now_ms + self.ttl_ms

    @property
    def token_floor(self) -> int:
        """The least token this attempt writes: the writer's clock in epoch µs."""
        return self.now_us or self.now_ms * 1000


def can_acquire(current: LeaseRecord | None, request: AcquireRequest) -> bool:
    """True when ``request`` may take the lease given the ``current`` record (a steal: also
    while the record still names the holder and token the stealer read)."""
    return (
        current is None
        or current.holder == request.holder
        or current.is_free(request.now_ms, request.skew_ms)
        or (request.steals is not None and holds(current, *request.steals))
    )


def next_token(current: LeaseRecord | None, now_us: int) -> int:
    """The fencing token of the next acquisition: strictly greater, never below ``now_us``.

    A fresh record starts at ``now_us``; afterwards ``max(previous + 1, now_us)``. A previous
    token in ms (schema 1) is far below ``now_us``, so the change of unit only raises tokens.
    """
    return now_us if current is None else max(current.token + 1, now_us)


def acquired(current: LeaseRecord | None, request: AcquireRequest) -> LeaseRecord:
    """The record after ``request`` acquired the lease (call only if ``can_acquire``)."""
    same_holder = current is not None and current.holder == request.holder
    if current is not None and current.schema < SCHEMA:
        warn_legacy(current)
    return LeaseRecord(
        name=request.name,
        holder=request.holder,
        token=next_token(current, request.token_floor),
        expires_at=request.expires_at,
        acquired_at=current.acquired_at if same_holder and current else request.now_ms,
        renewed_at=request.now_ms,
        transitions=(current.transitions if current else 0) + (0 if same_holder else 1),
        metadata=dict(request.metadata),
        schema=SCHEMA,
    )


def warn_legacy(current: LeaseRecord) -> None:
    """Say that a record written by a pre-µs cloudlease is being lifted to schema 2.

    Harmless for a record that existed before the upgrade. If an older client re-created the
    record after a deletion, the tokens it granted were below earlier ones: finish the upgrade
    before records are deleted (docs/tokens.md, "Rolling upgrades").
    """
    _log.warning(
        "cloudlease: lease %r was last written by an older cloudlease (schema %d, token %d "
        "in ms); this acquisition moves it to schema %d (tokens in µs). Upgrade every client "
        "before records are deleted (docs/tokens.md)",
        current.name,
        current.schema,
        current.token,
        SCHEMA,
    )


def holds(current: LeaseRecord | None, holder: str, token: int) -> bool:
    """True when ``current`` still names this holder and token."""
    return current is not None and current.holder == holder and current.token == token


def renewed(current: LeaseRecord, now_ms: int, ttl_ms: int) -> LeaseRecord:
    """The record after its holder renewed it (call only if ``holds``)."""
    return replace(current, expires_at=now_ms + ttl_ms, renewed_at=now_ms)


def released(current: LeaseRecord, now_ms: int) -> LeaseRecord:
    """The record after release: no holder, token kept, ``expires_at`` = the release time.

    One rule with DynamoDB's ``RELEASE_UPDATE`` (an update expression cannot take a minimum):
    a holder releasing after its expiry moves ``expires_at`` forward, which changes nothing for
    contenders (a released record is free whatever its expiry) and tells observers when the
    lease was let go.
    """
    return replace(current, holder="", expires_at=now_ms)
