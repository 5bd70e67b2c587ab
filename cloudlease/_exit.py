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

    class Campaigner(Protocol):
        def stop_for_exit(self, timeout: float) -> None: ...


#: How long the exit waits for each elector to stop (a store request in flight).
ELECTOR_STOP_TIMEOUT = 10.0


class AtExit:
    """The tenures still held that release themselves when the interpreter exits."""

    def __init__(self) -> None:
        self._tenures: weakref.WeakSet[Releasable] = weakref.WeakSet()
        self._electors: weakref.WeakSet[Campaigner] = weakref.WeakSet()
        # Reentrant: the SIGTERM handler runs on the main thread, perhaps inside ``add``.
        self._lock = threading.RLock()
        self._registered = False
        #: Set by ``release_all``: the process is going down, so a grant that lands from now on
        #: (a campaign's request in flight) is released at once, and electors stop campaigning.
        self.closing = False

    def add(self, tenure: Releasable) -> None:
        with self._lock:
            late = self.closing
            if not late:
                self._tenures.add(tenure)
                self._register()
        if late:
            tenure.release("released: the process is exiting")

    def add_elector(self, elector: Campaigner) -> None:
        """Stop ``elector`` campaigning before the leases are released (else it would take the
        released lease again, and a grant in flight at exit would outlive the process)."""
        with self._lock:
            self._electors.add(elector)
            self._register()

    def _register(self) -> None:
        if not self._registered:
            atexit.register(self.release_all, "released at interpreter exit")
            self._registered = True

    def discard(self, tenure: Releasable) -> None:
        with self._lock:
            self._tenures.discard(tenure)

    def release_all(self, reason: str) -> None:
        with self._lock:
            self.closing = True
            electors = list(self._electors)
        for elector in electors:  # each releases its own term as it stops
            elector.stop_for_exit(ELECTOR_STOP_TIMEOUT)
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
