"""Drive renewals on a thread: the waiting half of a tenure, kept apart from its decisions.

A ``Renewable`` (a ``Tenure``) says when it next needs attention and does what is due when
asked; this module only waits. The same decisions serve an event loop or a shared scheduler.
"""

from __future__ import annotations

import threading
from typing import Protocol

from cloudlease.clock import Clock


class Renewable(Protocol):
    """What a renewal driver needs from a held lease."""

    @property
    def name(self) -> str: ...

    def next_wakeup(self) -> float:
        """The monotonic instant at which ``step()`` has something to do."""
        ...

    def step(self) -> bool:
        """Do what is due now (renew, retry, or step down); False once the tenure is over."""
        ...


def drive(renewable: Renewable, clock: Clock, stop: threading.Event) -> None:
    """Step ``renewable`` whenever it is due, until it is over or ``stop`` is set."""
    while not stop.is_set() and renewable.step():
        pause = renewable.next_wakeup() - clock.monotonic()
        if pause > 0:
            clock.wait(stop, pause)


class RenewalThread:
    """One daemon thread that drives one renewable (``start``; ``stop`` joins it)."""

    def __init__(self, renewable: Renewable, clock: Clock) -> None:
        self.renewable = renewable
        self.clock = clock
        self.stop_event = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=drive,
            args=(self.renewable, self.clock, self.stop_event),
            name=f"cloudlease-keeper:{self.renewable.name}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop renewing; returns once the thread has finished its current step."""
        self.stop_event.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()
