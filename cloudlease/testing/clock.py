"""FakeClock: time that moves only when a test says so."""

from __future__ import annotations

import threading
import time

_POLL = 0.002  # real seconds between checks of a waiter's event


class FakeClock:
    """A Clock for tests: ``advance()`` moves both wall and monotonic time.

    ``wait()`` blocks (in real time) until its event is set or fake time reaches its deadline.
    With ``autoadvance=True`` a ``wait()`` that would block moves time forward itself, as if it
    slept: handy for single-threaded tests of retry loops. ``skew_ms`` shifts only the wall
    clock, as a host whose clock runs ahead or behind.
    """

    def __init__(
        self,
        wall_ms: int = 1_767_225_600_000,  # 2026-01-01T00:00:00Z
        monotonic: float = 1_000.0,
        *,
        autoadvance: bool = False,
    ) -> None:
        self._cond = threading.Condition()
        self._wall0 = wall_ms
        self._mono0 = monotonic
        self._elapsed = 0.0
        self.skew_ms = 0
        self.autoadvance = autoadvance
        self._deadlines: dict[int, float] = {}
        self._next_waiter = 0

    def wall_ms(self) -> int:
        with self._cond:
            return self._wall0 + round(self._elapsed * 1000) + self.skew_ms

    def wall_us(self) -> int:
        with self._cond:
            return (self._wall0 + self.skew_ms) * 1000 + round(self._elapsed * 1_000_000)

    def monotonic(self) -> float:
        with self._cond:
            return self._mono0 + self._elapsed

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake the waiters whose deadline passed."""
        if seconds < 0:
            raise ValueError("a FakeClock only moves forward")
        with self._cond:
            self._elapsed += seconds
            self._cond.notify_all()

    def wait(self, event: threading.Event, timeout: float) -> bool:
        if event.is_set():
            return True
        with self._cond:
            deadline = self._elapsed + max(0.0, timeout)
            if self.autoadvance:
                self._elapsed = max(self._elapsed, deadline)
                self._cond.notify_all()
                return event.is_set()
            waiter = self._next_waiter
            self._next_waiter += 1
            self._deadlines[waiter] = deadline
            try:
                while not event.is_set() and self._elapsed < deadline:
                    self._cond.wait(_POLL)
            finally:
                del self._deadlines[waiter]
            return event.is_set()

    async def sleep(self, seconds: float) -> None:
        """``wait()`` for coroutines (``cloudlease.async_tenure.sleep`` uses it): return once
        fake time is ``seconds`` further on, polling on the loop so other tasks run meanwhile.
        With ``autoadvance`` time moves at once (keep it off while a renewal task runs)."""
        import asyncio  # only async tests pay for it

        with self._cond:
            target = self._elapsed + max(0.0, seconds)
            if self.autoadvance:
                self._elapsed = max(self._elapsed, target)
                self._cond.notify_all()
            sleeper = self._next_waiter
            self._next_waiter += 1
            self._deadlines[sleeper] = target
        try:
            while self.monotonic() - self._mono0 < target:
                await asyncio.sleep(_POLL)
            await asyncio.sleep(0)
        finally:
            with self._cond:
                del self._deadlines[sleeper]

    def sleepers(self) -> int:
        """How many threads (or tasks) wait on this clock with a deadline still ahead."""
        with self._cond:
            return sum(1 for d in self._deadlines.values() if d > self._elapsed)

    def wait_for_sleepers(self, count: int = 1, timeout: float = 5.0) -> None:
        """Block (real time) until ``count`` threads sleep on this clock; raise if they don't."""
        give_up = time.monotonic() + timeout
        while self.sleepers() < count:
            if time.monotonic() > give_up:
                raise TimeoutError(f"expected {count} sleeper(s), found {self.sleepers()}")
            time.sleep(_POLL)

    def next_deadline(self) -> float | None:
        """Seconds until the earliest sleeper wakes, or None if nobody sleeps."""
        with self._cond:
            ahead = [d - self._elapsed for d in self._deadlines.values() if d > self._elapsed]
            return min(ahead) if ahead else None

    def __repr__(self) -> str:
        return f"FakeClock(wall_ms={self.wall_ms()}, monotonic={self.monotonic():.3f})"
