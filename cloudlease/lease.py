"""The Lease a holder has been granted, and the Fence protocol that fenced writes accept.

``LeaseRecord`` (what a store holds) lives in ``cloudlease.records`` and is re-exported here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cloudlease.clock import Clock
from cloudlease.errors import LeaseLost
from cloudlease.records import LeaseRecord

__all__ = ["Fence", "Lease", "LeaseRecord"]


@dataclass(frozen=True)
class Lease:
    """A lease this process holds: the grant of one acquire or renew.

    ``started`` is the local monotonic instant before the request was sent, and ``deadline`` the
    instant (on the same clock) after which the holder stops acting: a store grants
    ``started + ttl``; a Tenure (``hold()`` and every front door) moves it earlier by its safety
    margin, whatever the store's clock says. ``store_state`` is private to the store that
    granted it (e.g. an Azure lease id).
    """

    name: str
    holder: str
    token: int
    expires_at: int
    deadline: float
    ttl: float
    started: float
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


@runtime_checkable
class Fence(Protocol):
    """What a fenced write needs from a grant: a ``Lease``, or the held lease of ``hold()``,
    ``@single_runner`` or ``LeaderElector``. Providers' fencing helpers accept any Fence."""

    @property
    def name(self) -> str: ...

    @property
    def holder(self) -> str: ...

    @property
    def token(self) -> int: ...

    def ensure(self, min_remaining: float = 0.0) -> None:
        """Raise LeaseLost unless the grant is valid with ``min_remaining`` seconds to spare."""
        ...
