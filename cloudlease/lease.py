"""The lease record a store holds, and the Lease a holder has been granted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cloudlease.clock import Clock
from cloudlease.errors import LeaseLost


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
class Lease:
    """A lease this process holds: the grant of one acquire or renew.

    ``deadline`` is on the local monotonic clock: the holder counts from before its request was
    sent and stops acting at ``start + ttl - safety_margin``, whatever the store's clock says.
    ``store_state`` is private to the store that granted it (e.g. an Azure lease id).
    """

    name: str
    holder: str
    token: int
    expires_at: int
    deadline: float
    ttl: float
    record: LeaseRecord
    clock: Clock = field(repr=False, compare=False)
    store_state: Any = field(default=None, repr=False, compare=False)

    def remaining(self) -> float:
        """Seconds left before the local deadline (negative once past it)."""
        return self.deadline - self.clock.monotonic()

    def is_valid(self, min_remaining: float = 0.0) -> bool:
        """True while at least ``min_remaining`` seconds remain before the local deadline."""
        return self.remaining() > min_remaining

    def ensure(self, min_remaining: float = 0.0) -> None:
        """Raise LeaseLost unless at least ``min_remaining`` seconds of the lease remain.

        Call it right before a write that must not happen outside the lease, and fence the
        write itself with ``token`` where the target allows.
        """
        left = self.remaining()
        if left <= min_remaining:
            raise LeaseLost(
                f"the local deadline is {'past' if left <= 0 else f'{left:.3f}s away'} "
                f"(needed {min_remaining:g}s); stop acting on token {self.token} and "
                "acquire again",
                lease=self.name,
            )
