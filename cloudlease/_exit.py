"""Held leases that release themselves when the process exits (and, opt-in, on SIGTERM)."""

from __future__ import annotations

import atexit
import threading
import weakref

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Protocol

    class Releasable(Protocol):
        def release(self, reason: str = "released") -> Any: ...


class AtExit:
    """The tenures still held that release themselves when the interpreter exits."""

    def __init__(self) -> None:
        self._tenures: weakref.WeakSet[Releasable] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._registered = False

    def add(self, tenure: Releasable) -> None:
        with self._lock:
            self._tenures.add(tenure)
            if not self._registered:
                atexit.register(self.release_all, "released at interpreter exit")
                self._registered = True

    def discard(self, tenure: Releasable) -> None:
        with self._lock:
            self._tenures.discard(tenure)

    def release_all(self, reason: str) -> None:
        with self._lock:
            held = list(self._tenures)
        for tenure in held:
            tenure.release(reason)


AT_EXIT = AtExit()


def release_on_sigterm() -> None:
    """Release every held lease when SIGTERM arrives, then let the handler that was installed
    before run (or, if there was none, die of SIGTERM as usual). Opt-in, and call it from the
    main thread after your server installs its own handler: servers such as gunicorn, uvicorn
    and Cloud Run's shutdown own SIGTERM. Tenures made with ``release_at_exit=False`` (handles
    detached to cross invocations) are left alone.
    """
    import signal

    previous = signal.getsignal(signal.SIGTERM)

    def on_sigterm(signum: int, frame: Any) -> None:
        AT_EXIT.release_all("released on SIGTERM")
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.raise_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, on_sigterm)
