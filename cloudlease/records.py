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

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class LeaseRecord:
    """One lease as a store holds it (all times in wall-clock epoch milliseconds).

    ``holder`` is ``""`` when the lease is free. ``token`` is the fencing token: strictly greater
    on every acquisition, never reused, kept on release.
    """

    name: str
    holder: str
    token: int
    expires_at: int
    acquired_at: int = 0
    renewed_at: int = 0
    transitions: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

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
        }


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
