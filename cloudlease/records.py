"""How a lease record changes, written once for every store that reads before it writes.

Memory, SQLite, Firestore and Azure read the record and write the next one inside one atomic
step (a lock, a transaction, a blob lease); they all call these functions, so the rules below
exist in one place. DynamoDB states the same rules as a condition expression.

Rules (DESIGN.md, "The store contract"):

- acquire succeeds when the record is absent, released, expired beyond the skew allowance,
  or already names the same holder (re-entry after a lost response);
- every acquisition writes a strictly greater token: ``max(previous + 1, now_ms)``, so a
  record created afresh (first use, or after deletion) starts near the current epoch ms;
- renew and release are conditional on holder and token; release clears the holder and keeps
  the token.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from cloudlease.lease import LeaseRecord


@dataclass(frozen=True)
class AcquireRequest:
    """One acquire attempt. ``expires_at`` identifies the attempt when reading back."""

    name: str
    holder: str
    ttl_ms: int
    now_ms: int
    skew_ms: int
    metadata: dict[str, Any]

    @property
    def expires_at(self) -> int:
        return self.now_ms + self.ttl_ms


def can_acquire(current: LeaseRecord | None, request: AcquireRequest) -> bool:
    """True when ``request`` may take the lease given the ``current`` record."""
    return (
        current is None
        or current.holder == request.holder
        or current.is_free(request.now_ms, request.skew_ms)
    )


def next_token(current: LeaseRecord | None, now_ms: int) -> int:
    """The fencing token of the next acquisition: strictly greater, never below ``now_ms``."""
    return now_ms if current is None else max(current.token + 1, now_ms)


def acquired(current: LeaseRecord | None, request: AcquireRequest) -> LeaseRecord:
    """The record after ``request`` acquired the lease (call only if ``can_acquire``)."""
    same_holder = current is not None and current.holder == request.holder
    return LeaseRecord(
        name=request.name,
        holder=request.holder,
        token=next_token(current, request.now_ms),
        expires_at=request.expires_at,
        acquired_at=current.acquired_at if same_holder and current else request.now_ms,
        renewed_at=request.now_ms,
        transitions=(current.transitions if current else 0) + (0 if same_holder else 1),
        metadata=dict(request.metadata),
    )


def holds(current: LeaseRecord | None, holder: str, token: int) -> bool:
    """True when ``current`` still names this holder and token."""
    return current is not None and current.holder == holder and current.token == token


def renewed(current: LeaseRecord, now_ms: int, ttl_ms: int) -> LeaseRecord:
    """The record after its holder renewed it (call only if ``holds``)."""
    return replace(current, expires_at=now_ms + ttl_ms, renewed_at=now_ms)


def released(current: LeaseRecord, now_ms: int) -> LeaseRecord:
    """The record after release: no holder, expiry now, token kept."""
    return replace(current, holder="", expires_at=min(current.expires_at, now_ms))
