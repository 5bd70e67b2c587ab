"""Capabilities: what a store declares about itself (its ttl limits, who decides expiry).

Shown by docs, checked by the conformance suite, and read by the lifecycle: the ttl a store
grants, and whose clock decides that a lease has expired (which sets the store's default
takeover allowance, ``BaseStore.takeover_allowance``).
"""

from __future__ import annotations

import math

from cloudlease._frozen import Frozen
from cloudlease._validation import check_ttl

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

SHARED_ACROSS = ("process", "host", "network")


class Capabilities(Frozen):
    """What a store declares about itself (shown by docs and checked by the conformance suite).

    ``min_ttl``/``max_ttl`` bound the ttl a caller may ask for; ``longest_grant`` and
    ``whole_seconds`` say how the store grants an accepted ttl (Azure: whole seconds, at most
    60 s per blob lease); ``ttl_rule`` explains the bounds in error messages.
    ``round_trips`` counts requests per operation on the happy path.
    ``shared_across`` is ``"process"``, ``"host"`` or ``"network"``: who can contend.
    ``server_side_expiry``: the store's own clock ends a lease (Azure's blob leases).
    """

    __slots__ = (
        "consistency",
        "fencing",
        "longest_grant",
        "max_ttl",
        "min_ttl",
        "round_trips",
        "server_side_expiry",
        "shared_across",
        "ttl_rule",
        "whole_seconds",
    )
    _fields = (
        "server_side_expiry",
        "min_ttl",
        "max_ttl",
        "longest_grant",
        "whole_seconds",
        "ttl_rule",
        "fencing",
        "consistency",
        "shared_across",
        "round_trips",
    )

    server_side_expiry: bool
    min_ttl: float
    max_ttl: float | None
    longest_grant: float | None
    whole_seconds: bool
    ttl_rule: str
    fencing: bool
    consistency: str
    shared_across: str
    round_trips: Mapping[str, int]

    def __init__(
        self,
        server_side_expiry: bool = False,
        min_ttl: float = 0.001,
        max_ttl: float | None = None,
        longest_grant: float | None = None,
        whole_seconds: bool = False,
        ttl_rule: str = "",
        fencing: bool = True,
        consistency: str = "strong",
        shared_across: str = "network",
        round_trips: Mapping[str, int] | None = None,
    ) -> None:
        self._set_fields(
            server_side_expiry,
            min_ttl,
            max_ttl,
            longest_grant,
            whole_seconds,
            ttl_rule,
            fencing,
            consistency,
            shared_across,
            {"acquire": 1, "renew": 1, "release": 1, "get": 1, "steal": 2}
            if round_trips is None
            else round_trips,
        )

    @property
    def one_clock_decides_expiry(self) -> bool:
        """True when every contender's expiry check reads one clock: the store's (server-side
        expiry) or the host's (a store shared within one process or host). Such a store needs
        no takeover allowance; elsewhere each client compares expiry with its own clock."""
        return self.server_side_expiry or self.shared_across in ("process", "host")

    def granted_ttl(self, seconds: float) -> float:
        """The ttl this store grants when asked for ``seconds`` (already within the bounds)."""
        if self.whole_seconds:
            seconds = float(math.floor(seconds))
        if self.longest_grant is not None:
            seconds = min(seconds, self.longest_grant)
        return seconds

    def check_ttl(self, ttl: object, *, lease: str, store: str) -> float:
        """The granted ttl for ``ttl``, or ConfigError naming the bound it breaks."""
        seconds = check_ttl(
            ttl,
            lease=lease,
            store=store,
            min_ttl=self.min_ttl,
            max_ttl=self.max_ttl,
            rule=self.ttl_rule,
        )
        return self.granted_ttl(seconds)
