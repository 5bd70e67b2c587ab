"""The waiting half of a tenure, kept apart from its decisions.

A ``Renewable`` (a ``Tenure``) says when it next needs attention and does what is due when
asked. ``drive`` steps one on the calling thread; ``cloudlease.scheduler`` steps many from one
thread and a small pool; an event loop can step it too.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
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
