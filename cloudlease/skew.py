"""How far this client's wall clock is from its store's, learned from the store's replies.

Safety rests on every clock being within the skew allowance A of the others: contenders
compare stored expiry with their own wall clock, and tokens start from it. Stores that stamp
their replies (an HTTP ``Date`` header, whole seconds; Firestore commit times, microseconds)
feed each reply to ``ClockOffset.observe`` with the local instants the request was sent and
the reply received. Each reply bounds the offset (store minus local):

    server time at reply ∈ [stamp, stamp + resolution)   and it was made between send and receive
    => offset ∈ [stamp - received, stamp + resolution - sent]

The bounds of recent replies are intersected, so coarse stamps narrow down as replies arrive
at different phases of the store's second (as NTP does with coarse clocks). A window that
becomes empty means a clock stepped: the estimate restarts from the newest reply.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

#: How many recent replies bound the estimate.
WINDOW = 32


@dataclass(frozen=True)
class Offset:
    """Bounds on (store clock - local clock), in milliseconds, from ``samples`` replies."""

    low_ms: float
    high_ms: float
    samples: int

    @property
    def estimate_ms(self) -> float:
        return (self.low_ms + self.high_ms) / 2

    def surely_beyond(self, bound_ms: float) -> bool:
        """True when every offset consistent with the replies is farther than ``bound_ms``."""
        return self.low_ms > bound_ms or self.high_ms < -bound_ms

    def __str__(self) -> str:
        return (
            f"{self.estimate_ms / 1000:+.3f}s (between {self.low_ms / 1000:+.3f}s and "
            f"{self.high_ms / 1000:+.3f}s, {self.samples} replies)"
        )


class ClockOffset:
    """The running estimate of one store object's clock offset (thread-safe)."""

    def __init__(self) -> None:
        self._bounds: deque[tuple[float, float]] = deque(maxlen=WINDOW)
        self._lock = threading.Lock()
        self.warned_at: float | None = None  # monotonic: the last warning about this offset

    def observe(
        self, stamp_ms: float, resolution_ms: float, sent_ms: float, received_ms: float
    ) -> None:
        """One reply stamped ``stamp_ms`` by the store (truncated to ``resolution_ms``), for a
        request sent at ``sent_ms`` and answered at ``received_ms`` (local wall clock)."""
        low, high = stamp_ms - received_ms, stamp_ms + resolution_ms - sent_ms
        with self._lock:
            self._bounds.append((low, high))
            if self._window() is None:  # inconsistent: a clock stepped; start again
                self._bounds.clear()
                self._bounds.append((low, high))

    def current(self) -> Offset | None:
        """The bounds learned so far, or None before any reply."""
        with self._lock:
            window = self._window()
            if window is None:
                return None
            return Offset(window[0], window[1], len(self._bounds))

    def _window(self) -> tuple[float, float] | None:
        if not self._bounds:
            return None
        low = max(low for low, _ in self._bounds)
        high = min(high for _, high in self._bounds)
        return (low, high) if low <= high else None
