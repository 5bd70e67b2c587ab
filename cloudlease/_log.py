"""The ``cloudlease`` logger, loaded with its first message: ``logging`` costs a cold start
several ms, and most processes that hold a lease never log."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from logging import Logger


class _Deferred:
    """Forwards ``log.warning(...)`` and the like to ``logging.getLogger("cloudlease")``."""

    __slots__ = ()

    def __getattr__(self, method: str) -> object:
        import logging

        return getattr(logging.getLogger("cloudlease"), method)


log: Logger = _Deferred()  # type: ignore[assignment]
