"""The library's background threads leave process-directed signals to the main thread.

The kernel hands a signal sent to the process (SIGTERM from a platform, SIGINT from a
terminal) to any thread that does not block it. Python runs signal handlers on the main thread
only, and a main thread blocked in a system call (``time.sleep``, a socket read) is woken only
when the signal lands on it: one that lands on a renewal thread waits until that call returns
(``release_on_sigterm`` seemed not to run for a whole ``sleep``). So these threads start with
those signals blocked, and the kernel delivers them to a thread that takes them.
"""

from __future__ import annotations

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

#: Signals a process receives from outside; a synchronous fault (SIGSEGV ...) is not one.
_PROCESS_SIGNALS = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM")


def start_daemon(target: Callable[..., Any], name: str, *args: Any) -> threading.Thread:
    """Start ``target(*args)`` on a daemon thread that blocks the process's signals (it
    inherits the mask set around its start, so no signal can land on it before it runs)."""
    import signal  # here, not at import: it loads enum

    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    if not hasattr(signal, "pthread_sigmask"):  # Windows: no per-thread masks
        thread.start()
        return thread
    blocked = {getattr(signal, s) for s in _PROCESS_SIGNALS if hasattr(signal, s)}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        thread.start()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    return thread
