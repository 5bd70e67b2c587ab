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

from cloudlease._frozen import Frozen, setters

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, Protocol, TypeAlias

LOGGER = "cloudlease.tenure"
#: ``logging``'s levels, as numbers: ``logging`` loads with the first record, not on import.
_DEBUG, _INFO, _WARNING = 10, 20, 30

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
    ACQUIRED: (_INFO, "lease %(lease)r acquired by %(holder)r (token %(token)s) on "
               "%(store)s after %(waited).3fs"),
    STOLEN: (_WARNING, "lease %(lease)r stolen by %(holder)r (token %(token)s) on "
             "%(store)s: %(reason)s"),
    REFUSED: (_DEBUG, "lease %(lease)r is %(reason)s; not acquired by %(holder)r"),
    RENEWED: (_DEBUG, "lease %(lease)r (token %(token)s) renewed"),
    RENEW_FAILED: (_WARNING, "renewal of %(lease)r failed, retrying: %(reason)s"),
    RENEWED_LATE: (_WARNING, "lease %(lease)r (token %(token)s) renewed %(reason)s"),
    LOST: (_WARNING, "lease %(lease)r (token %(token)s) %(reason)s"),
    STEPPED_DOWN: (_WARNING, "lease %(lease)r (token %(token)s) %(reason)s"),
    RELEASED: (_INFO, "lease %(lease)r (token %(token)s) released"),
    RELEASE_FAILED: (_WARNING, "release of %(lease)r failed (%(reason)s); it expires by "
                     "itself at its ttl"),
    DONE: (_INFO, "tick %(lease)r done (token %(token)s)"),
    DONE_FAILED: (_WARNING, "could not mark tick %(lease)r done: %(reason)s"),
    ABANDONED: (_INFO, "lease %(lease)r (token %(token)s) %(reason)s"),
}  # fmt: skip


class Transition(Frozen):
    """One transition of one held lease (the log record's fields)."""

    __slots__ = ("holder", "lease", "reason", "store", "token", "transition", "waited")
    _fields = ("transition", "lease", "holder", "token", "store", "reason", "waited")

    transition: str
    lease: str
    holder: str
    token: int | None
    store: str
    reason: str | None
    waited: float | None

    def __init__(
        self,
        transition: str,
        lease: str,
        holder: str,
        token: int | None,
        store: str,
        reason: str | None = None,
        waited: float | None = None,
    ) -> None:
        put = _PUT_TRANSITION
        put[0](self, transition)
        put[1](self, lease)
        put[2](self, holder)
        put[3](self, token)
        put[4](self, store)
        put[5](self, reason)
        put[6](self, waited)

    def as_dict(self) -> dict[str, Any]:
        return {field: getattr(self, field) for field in self._fields}


_PUT_TRANSITION = setters(Transition)

Observer: TypeAlias = "Callable[[Transition], None]"
_observers: list[Observer] = []


def _logger() -> Any:
    """The ``cloudlease.tenure`` logger (``logging`` is imported with the first transition)."""
    import logging

    return logging.getLogger(LOGGER)


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
    log = _logger()
    if log.isEnabledFor(level):
        extra = happened.as_dict()
        log.log(level, "cloudlease: " + message, extra, extra=extra, exc_info=exc_info)
    for observer in _observers:
        observer(happened)


if TYPE_CHECKING:

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
RequestHook: TypeAlias = "Callable[[str, str, str, int | None, str], Request]"
_request_hook: RequestHook | None = None


def set_request_hook(hook: RequestHook | None) -> None:
    """Wrap every store request of a held lease in ``hook``'s Request (None: stop)."""
    global _request_hook
    _request_hook = hook


def request(method: str, lease: str, holder: str, token: int | None, store: str) -> Request:
    """The Request to wrap around one store request (``UNOBSERVED`` without a hook)."""
    hook = _request_hook
    return UNOBSERVED if hook is None else hook(method, lease, holder, token, store)
