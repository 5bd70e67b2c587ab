"""The numbers of a lease's life, checked once: ``TimingPolicy``.

Built once from the ttl, the renewal and retry periods, the jitter, the safety margin, an
optional hard cap and the store's declared limits; it checks them with one message per rule
and computes margins, local deadlines and campaign pauses. ``cloudlease.tenure.Tenure`` lives
by it.
"""

from __future__ import annotations

import math

from cloudlease._frozen import Frozen
from cloudlease._log import log
from cloudlease._validation import to_seconds
from cloudlease.errors import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import random

    from cloudlease._validation import Duration
    from cloudlease.lease import Lease
    from cloudlease.records import LeaseRecord
    from cloudlease.store import StoreSettings

#: ``wait=FOREVER`` waits for the lease without a time limit.
FOREVER = math.inf
#: The default safety margin: a tenth of the ttl, at most this many seconds.
DEFAULT_MARGIN_CAP = 2.0
#: Bounds on a held lease's ttl, on every store (a store may bound it further; Azure: 15-120 s).
#: Below the minimum a renewal every ttl/3 cannot keep up with a store's latency; above the
#: maximum a crashed holder would block the lease for longer than any job needs: a long job
#: renews its lease, it does not need a long ttl.
MIN_TENURE_TTL = 0.5
MAX_TENURE_TTL = 86_400.0
#: Seconds between two warnings about the same store's clock offset.
WARN_EVERY = 60.0


class TimingPolicy(Frozen):
    """Every number of a tenure, checked together (build it with ``for_store``).

    ``ttl`` is what the store grants (after its limits), ``renew_every`` the period between
    renewals (shortened by up to ``jitter``), ``renew_retry`` the pause after a failed renewal,
    ``retry_every`` and ``jitter`` shape campaign pauses (``retry_every * (1 + U(0, jitter))``),
    ``takeover_allowance`` is the store's (how long after a holder's expiry a waiter may
    take over), ``margin`` the configured safety margin (None: ttl/10,
    at most 2 s) and ``max_duration`` caps the whole tenure, renewals included.
    """

    __slots__ = (
        "jitter",
        "margin",
        "max_duration",
        "renew_every",
        "renew_retry",
        "retry_every",
        "takeover_allowance",
        "ttl",
    )
    _fields = (
        "ttl",
        "renew_every",
        "renew_retry",
        "retry_every",
        "jitter",
        "takeover_allowance",
        "margin",
        "max_duration",
    )

    ttl: float
    renew_every: float
    renew_retry: float
    retry_every: float
    jitter: float
    takeover_allowance: float
    margin: float | None
    max_duration: float | None

    def __init__(
        self,
        ttl: float,
        renew_every: float,
        renew_retry: float,
        retry_every: float,
        jitter: float,
        takeover_allowance: float,
        margin: float | None = None,
        max_duration: float | None = None,
    ) -> None:
        self._set_fields(
            ttl,
            renew_every,
            renew_retry,
            retry_every,
            jitter,
            takeover_allowance,
            margin,
            max_duration,
        )

    @classmethod
    def for_store(
        cls,
        store: StoreSettings,
        *,
        lease: str,
        ttl: Duration,
        renew_every: Duration | None = None,
        retry_every: Duration | None = None,
        jitter: float = 0.2,
        safety_margin: Duration | None = None,
        max_duration: Duration | None = None,
    ) -> TimingPolicy:
        """Check every option before any request; ConfigError names the rule broken."""
        where = {"lease": lease, "store": store.url}
        requested = to_seconds(ttl, what="ttl", lease=lease, store=store.url)
        cap = None
        if max_duration is not None:
            cap = to_seconds(max_duration, what="max_duration", lease=lease, store=store.url)
            requested = min(requested, cap)
        if not MIN_TENURE_TTL <= requested <= MAX_TENURE_TTL:
            raise ConfigError(
                f"ttl {requested:g}s is outside {MIN_TENURE_TTL:g}-{MAX_TENURE_TTL:g}s, the bounds "
                "of a held lease (shorter cannot be renewed in time; longer would block the lease "
                "for that long after a crash): a long job renews its lease, it does not need a "
                "long ttl",
                **where,
            )
        granted = store.capabilities.check_ttl(requested, lease=lease, store=store.url)
        if granted < requested:
            log.warning(
                "cloudlease: [lease %r, store %s] ttl %gs is granted as %gs: %s",
                lease,
                store.url,
                requested,
                granted,
                store.capabilities.ttl_rule or "the store's limit",
            )
        margin = safety_margin if safety_margin is not None else store.safety_margin
        margin_s = (
            None if margin is None else to_seconds(margin, what="safety_margin", allow_zero=True)
        )
        renew_s = granted / 3
        if renew_every is not None:
            renew_s = to_seconds(renew_every, what="renew_every", lease=lease, store=store.url)
        if not isinstance(jitter, (int, float)) or not 0 <= jitter < 1:
            raise ConfigError(f"jitter must be in [0, 1), got {jitter!r}", **where)
        if retry_every is None:
            retry_s = min(1.0, renew_s, granted / (1 + jitter))
        else:
            retry_s = to_seconds(retry_every, what="retry_period", lease=lease, store=store.url)
        policy = cls(
            ttl=granted,
            renew_every=renew_s,
            renew_retry=max(renew_s / 4, 0.05),
            retry_every=retry_s,
            jitter=float(jitter),
            takeover_allowance=store.takeover_allowance,
            margin=margin_s,
            max_duration=cap,
        )
        usable = granted - policy.margin_for(granted)
        if renew_s >= usable:
            raise ConfigError(
                f"renew_every ({renew_s:g}s) must be shorter than ttl minus the safety margin "
                f"({usable:g}s), or the lease expires before its first renewal; use ttl/3",
                **where,
            )
        if retry_s * (1 + jitter) > granted:
            raise ConfigError(
                f"retry_period with jitter ({retry_s * (1 + jitter):g}s) must not exceed ttl "
                f"({granted:g}s), or a free lease waits longer than it lasts",
                **where,
            )
        return policy

    def margin_for(self, ttl: float) -> float:
        """Seconds before ``start + ttl`` at which a holder stops acting."""
        if self.margin is not None:
            return min(self.margin, ttl / 2)
        return min(ttl / 10, DEFAULT_MARGIN_CAP)

    def stamp(self, grant: Lease) -> Lease:
        """``grant`` with its local deadline: ``started + ttl - margin``."""
        return grant.replace(deadline=grant.started + grant.ttl - self.margin_for(grant.ttl))

    def renewal_pause(self, rng: random.Random) -> float:
        """How long after a renewal (or the grant) to renew again: ``renew_every`` shortened
        by up to ``jitter`` (never stretched), so that leases taken or renewed together do
        not stay bunched, and no renewal is planned later than ``renew_every``."""
        return self.renew_every * (1 - rng.uniform(0, self.jitter))

    def campaign_pause(
        self, rng: random.Random, record: LeaseRecord | None = None, now_ms: int = 0
    ) -> float:
        """How long to wait before the next acquire attempt.

        ``retry_every`` stretched by up to ``jitter`` (never shrunk); when the refusal carried
        the holder's record, no later than just after its expiry (plus the takeover allowance),
        spread by the same jitter so that waiters do not all wake at that instant.
        """
        pause = self.retry_every * (1 + rng.uniform(0, self.jitter))
        if record is not None:
            until_free = (record.expires_at - now_ms) / 1000 + self.takeover_allowance + 0.001
            spread = rng.uniform(0, self.jitter * self.retry_every)
            pause = min(pause, max(until_free, 0.001) + spread)
        return pause
