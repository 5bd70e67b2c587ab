"""The protocols of the vocabulary: ``Clock`` (where every instant comes from) and ``Fence``
(what fenced writes accept).

Kept apart because a Protocol needs ``typing`` at runtime, which a cold start would otherwise
pay on ``import cloudlease``; ``cloudlease.clock.Clock`` and ``cloudlease.lease.Fence`` load
this module on first use. It imports nothing of cloudlease.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading


@runtime_checkable
class Clock(Protocol):
    """Where cloudlease gets every instant and every wait."""

    def wall_ms(self) -> int:
        """Wall-clock time in epoch milliseconds (compared across hosts)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (compared only on this host)."""
        ...

    def wait(self, event: threading.Event, timeout: float) -> bool:
        """Block until ``event`` is set or ``timeout`` seconds pass; True if the event was set."""
        ...


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
