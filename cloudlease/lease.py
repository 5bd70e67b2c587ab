"""The Lease a holder has been granted, and the Fence protocol that fenced writes accept.

``LeaseRecord`` (what a store holds) lives in ``cloudlease.records`` and is re-exported here.
"""

from __future__ import annotations

from cloudlease._frozen import Value
from cloudlease.errors import LeaseLost
from cloudlease.records import LeaseRecord

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

    from cloudlease._protocols import Clock, Fence

__all__ = ["Fence", "Lease", "LeaseRecord"]


class Lease(Value):
    """A lease this process holds: the grant of one acquire or renew.

    ``started`` is the local monotonic instant before the request was sent, and ``deadline`` the
    instant (on the same clock) after which the holder stops acting: a store grants
    ``started + ttl``; a Tenure (``hold()`` and every front door) moves it earlier by its safety
    margin, whatever the store's clock says. ``store_state`` is private to the store that
    granted it (e.g. an Azure lease id).
    """

    __slots__ = (
        "clock",
        "deadline",
        "expires_at",
        "holder",
        "name",
        "record",
        "started",
        "store_state",
        "token",
        "ttl",
    )
    _fields = (
        "name",
        "holder",
        "token",
        "expires_at",
        "deadline",
        "ttl",
        "started",
        "record",
        "clock",
        "store_state",
    )
    _hidden = frozenset({"clock", "store_state"})

    name: Final[str]
    holder: Final[str]
    token: Final[int]
    expires_at: Final[int]
    deadline: Final[float]
    ttl: Final[float]
    started: Final[float]
    record: Final[LeaseRecord]
    clock: Final[Clock]
    store_state: Final[Any]

    def __init__(
        self,
        name: str,
        holder: str,
        token: int,
        expires_at: int,
        deadline: float,
        ttl: float,
        started: float,
        record: LeaseRecord,
        clock: Clock,
        store_state: Any = None,
    ) -> None:
        self.name = name
        self.holder = holder
        self.token = token
        self.expires_at = expires_at
        self.deadline = deadline
        self.ttl = ttl
        self.started = started
        self.record = record
        self.clock = clock
        self.store_state = store_state

    def remaining(self) -> float:
        """Seconds left before the local deadline (negative once past it)."""
        return self.deadline - self.clock.monotonic()

    def is_valid(self, min_remaining: float = 0.0) -> bool:
        """True while at least ``min_remaining`` seconds remain before the local deadline."""
        return self.remaining() > min_remaining

    def ensure(self, min_remaining: float = 0.0) -> None:
        """Raise LeaseLost unless at least ``min_remaining`` seconds of the lease remain.

        Call it right before a write that must not happen outside the lease, and fence the
        write itself with ``token`` where the target allows.
        """
        left = self.remaining()
        if left <= min_remaining:
            raise LeaseLost(
                f"the local deadline is {'past' if left <= 0 else f'{left:.3f}s away'} "
                f"(needed {min_remaining:g}s); stop acting on token {self.token} and "
                "acquire again",
                lease=self.name,
            )


if not TYPE_CHECKING:

    def __getattr__(name: str) -> object:
        """``Fence``, defined with ``typing``: loaded on first use, not at import."""
        if name == "Fence":
            from cloudlease._protocols import Fence

            return Fence
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
