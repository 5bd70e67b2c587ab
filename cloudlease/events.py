"""The transitions of a held lease, reported in one place: one stdlib log record each.

``cloudlease.tenure`` (the lifecycle, which every front door uses: ``hold()``,
``LeaderElector``, ``@single_runner``, ``cloudlease run``, the async side) calls ``report``
at each transition, so all of them log the same records. Each record goes to the logger
``cloudlease.tenure`` with these fields (``extra``), whatever the transition:

==============  ============================================================================
field           value
==============  ============================================================================
``transition``  one of the names below
``lease``       the lease name
``holder``      this process's holder id
``token``       the fencing token of the grant (None when there is none: ``refused``)
``store``       the store's URL
``reason``      why the tenure ended, or why a request failed (None otherwise)
``waited``      seconds from the first attempt to the grant (``acquired``, ``stolen``; else None)
==============  ============================================================================

Transitions and their levels: ``acquired`` (INFO; an elector's election), ``stolen``
(WARNING: acquired at once by a steal, from a live holder too: ``cloudlease steal``), ``refused``
(DEBUG: held elsewhere), ``renewed`` (DEBUG), ``renew_failed`` (WARNING: retried),
``renewed_late`` (WARNING: renewed after failed attempts), ``lost`` (WARNING: the store says
the lease is no longer ours), ``stepped_down`` (WARNING: stopped acting before the local
deadline), ``released`` (INFO), ``release_failed`` (WARNING: it expires at its ttl),
``done`` (INFO: a tick marked done), ``done_failed`` (WARNING), ``abandoned`` (INFO: left
to expire, e.g. handed off).

Observers (``add_observer``) get each ``Transition`` too, whatever the log level, and a
request hook (``set_request_hook``) sees each store request of a held lease: the ``otel``
extra (``cloudlease.otel``) counts the one and traces the other. Without them, a request
costs one check of a module global.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

LOGGER = "cloudlease.tenure"
log = logging.getLogger(LOGGER)

ACQUIRED = "acquired"
STOLEN = "stolen"
REFUSED = "refused"
RENEWED = "renewed"
RENEW_FAILED = "renew_failed"
RENEWED_LATE = "renewed_late"
LOST = "lost"
STEPPED_DOWN = "stepped_down"
RELEASED = "released"
RELEASE_FAILED = "release_failed"
DONE = "done"
DONE_FAILED = "done_failed"
ABANDONED = "abandoned"

#: Each transition's level and message (``%`` with the record's fields).
MESSAGES: dict[str, tuple[int, str]] = {
    ACQUIRED: (logging.INFO, "lease %(lease)r acquired by %(holder)r (token %(token)s) on "
               "%(store)s after %(waited).3fs"),
    STOLEN: (logging.WARNING, "lease %(lease)r stolen by %(holder)r (token %(token)s) on "
             "%(store)s: %(reason)s"),
    REFUSED: (logging.DEBUG, "lease %(lease)r is %(reason)s; not acquired by %(holder)r"),
    RENEWED: (logging.DEBUG, "lease %(lease)r (token %(token)s) renewed"),
    RENEW_FAILED: (logging.WARNING, "renewal of %(lease)r failed, retrying: %(reason)s"),
    RENEWED_LATE: (logging.WARNING, "lease %(lease)r (token %(token)s) renewed %(reason)s"),
    LOST: (logging.WARNING, "lease %(lease)r (token %(token)s) %(reason)s"),
    STEPPED_DOWN: (logging.WARNING, "lease %(lease)r (token %(token)s) %(reason)s"),
    RELEASED: (logging.INFO, "lease %(lease)r (token %(token)s) released"),
    RELEASE_FAILED: (logging.WARNING, "release of %(lease)r failed (%(reason)s); it expires by "
                     "itself at its ttl"),
    DONE: (logging.INFO, "tick %(lease)r done (token %(token)s)"),
    DONE_FAILED: (logging.WARNING, "could not mark tick %(lease)r done: %(reason)s"),
    ABANDONED: (logging.INFO, "lease %(lease)r (token %(token)s) %(reason)s"),
}  # fmt: skip


@dataclass(frozen=True)
class Transition:
    """One transition of one held lease (the log record's fields)."""

    transition: str
    lease: str
    holder: str
    token: int | None
    store: str
    reason: str | None = None
    waited: float | None = None


Observer = Callable[[Transition], None]
_observers: list[Observer] = []


def add_observer(observer: Observer) -> None:
    """Call ``observer(transition)`` on every transition from now on (it must not raise)."""
    _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    _observers.remove(observer)


def report(transition: str, *, exc_info: BaseException | None = None, **fields: Any) -> None:
    """Log one transition as one record (its fields as ``extra``), then hand it to the
    observers. ``fields`` are ``Transition``'s."""
    happened = Transition(transition, **fields)
    level, message = MESSAGES[transition]
    if log.isEnabledFor(level):
        extra = asdict(happened)
        log.log(level, "cloudlease: " + message, extra, extra=extra, exc_info=exc_info)
    for observer in _observers:
        observer(happened)


class Request(Protocol):
    """One store request of a held lease, as a hook sees it: ``with`` around the request,
    ``done(result)`` with what the store returned (it returns ``result``)."""

    def __enter__(self) -> Request: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def done(self, result: Any) -> Any: ...


class _Unobserved:
    """The request when no hook is set: nothing happens."""

    def __enter__(self) -> _Unobserved:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def done(self, result: Any) -> Any:
        return result


UNOBSERVED = _Unobserved()

#: ``hook(method, lease, holder, token, store)``: the Request to wrap around one store request
#: (``token`` is None for an acquire: the grant tells it, through ``done``).
RequestHook = Callable[[str, str, str, "int | None", str], Request]
_request_hook: RequestHook | None = None


def set_request_hook(hook: RequestHook | None) -> None:
    """Wrap every store request of a held lease in ``hook``'s Request (None: stop)."""
    global _request_hook
    _request_hook = hook


def request(method: str, lease: str, holder: str, token: int | None, store: str) -> Request:
    """The Request to wrap around one store request (``UNOBSERVED`` without a hook)."""
    hook = _request_hook
    return UNOBSERVED if hook is None else hook(method, lease, holder, token, store)
