"""Time, behind one small protocol so that tests run on a FakeClock and never sleep.

The holder of a lease trusts only ``monotonic()``; contenders compare stored wall-clock expiry
(``wall_ms()``) with their own wall clock plus the store's takeover allowance. Fencing tokens
count wall-clock microseconds (``wall_us()``; a clock without that method is read in ms x 1000).
"""

from __future__ import annotations

import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading

    from cloudlease._protocols import Clock

__all__ = ["SYSTEM_CLOCK", "Clock", "SystemClock", "wall_us"]


class SystemClock:
    """The real clock: ``time.time_ns``, ``time.monotonic`` and ``Event.wait``."""

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000

    def wall_us(self) -> int:
        return time.time_ns() // 1_000

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        return event.wait(max(0.0, timeout))

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()


def wall_us(clock: Clock) -> int:
    """``clock``'s wall time in epoch microseconds (the unit of fencing tokens).

    ``wall_us()`` is optional, so a Clock written for an older cloudlease keeps working: its
    ``wall_ms() * 1000`` is used, and a burst of grants inside one millisecond then counts up
    from the start of that millisecond.
    """
    read = getattr(clock, "wall_us", None)
    return int(read()) if callable(read) else clock.wall_ms() * 1000


if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """``Clock``, defined with ``typing``: loaded on first use, not at import."""
        if name == "Clock":
            from cloudlease._protocols import Clock

            return Clock
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
