"""How far this client's wall clock is from its store's, learned from the store's replies.

Safety rests on every clock being within the clock-skew bound A of the store's
(``clock_skew_bound``): contenders compare stored expiry with their own wall clock (the
takeover allowance covers that), and tokens start from it on every store. Stores that stamp
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

from cloudlease._frozen import Frozen

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cloudlease.clock import Clock

#: How many recent replies bound the estimate.
WINDOW = 32


class Offset(Frozen):
    """Bounds on (store clock - local clock), in milliseconds, from ``samples`` replies."""

    __slots__ = ("high_ms", "low_ms", "samples")
    _fields = ("low_ms", "high_ms", "samples")

    low_ms: float
    high_ms: float
    samples: int

    def __init__(self, low_ms: float, high_ms: float, samples: int) -> None:
        self._set_fields(low_ms, high_ms, samples)

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
        self._bounds: list[tuple[float, float]] = []  # the newest WINDOW replies
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
            del self._bounds[:-WINDOW]
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


class HttpDateProbe:
    """Feeds a ``ClockOffset`` from HTTP replies' ``Date`` headers (whole seconds).

    Call ``sent()`` just before a request goes out and ``received(date)`` when its reply
    arrives, on the same thread (botocore's ``before-send`` / ``response-received`` events,
    an azure-core pipeline's request and response hooks).
    """

    def __init__(self, clock: Clock, offset: ClockOffset) -> None:
        self.clock = clock
        self.offset = offset
        self._local = threading.local()
        self._parsed: tuple[str, float] = ("", 0.0)  # the last Date seen, parsed (repeats)

    def sent(self, *_: object, **__: object) -> None:
        self._local.sent_ms = self.clock.wall_ms()

    def received(self, date: str | None) -> None:
        sent_ms = getattr(self._local, "sent_ms", None)
        self._local.sent_ms = None
        if sent_ms is None or not date:
            return
        received_ms = self.clock.wall_ms()
        last, stamp_ms = self._parsed
        if date != last:
            try:
                from email.utils import parsedate_to_datetime  # only when replies are measured

                stamp_ms = parsedate_to_datetime(date).timestamp() * 1000
            except (TypeError, ValueError, IndexError, OverflowError):
                return
            self._parsed = (date, stamp_ms)
        self.offset.observe(stamp_ms, 1000, sent_ms, received_ms)


def measures_host_clock(clock: Clock) -> bool:
    """True when ``clock`` is the host's (a FakeClock's simulated time is not compared with a
    real server's: the offset would be meaningless)."""
    from cloudlease.clock import SystemClock

    return isinstance(clock, SystemClock)
