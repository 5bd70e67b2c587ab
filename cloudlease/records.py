"""How a lease record changes, written once for every store that reads before it writes.

Memory, SQLite, Firestore and Azure read the record and write the next one inside one atomic
step (a lock, a transaction, a blob lease); they all call these functions, so the rules below
exist in one place. DynamoDB states the same rules as condition expressions (its
``expressions.py`` says where it cannot read first).

Rules (DESIGN.md, "The store contract" and "The lease record"; proof in docs/tokens.md):

- acquire succeeds when the record is absent, released, expired beyond the takeover allowance,
  or already names the same holder (re-entry after a lost response);
- fencing tokens count wall-clock MICROseconds: a record created afresh (first use, or after
  deletion) starts at the writer's ``now_us``, and every acquisition writes
  ``max(previous + 1, now_us)`` (``previous + 1`` on DynamoDB, which cannot read first). A
  burst of acquisitions cannot outrun the clock (it would take more than one grant per µs),
  so a token is never above true time + A (A: the clock-skew bound), and a record deleted at
  least 2A after its last grant is re-created with a greater token;
- records carry ``schema``: 2 for records written under this rule; 1 for records written by
  an older cloudlease (millisecond tokens, which are far below microsecond ones, so the change
  of unit only raises tokens). An acquisition lifts a schema-1 record to schema 2;
- renew and release are conditional on holder and token; release clears the holder, keeps
  the token and sets ``expires_at`` to the release time (the same rule as DynamoDB's
  ``RELEASE_UPDATE``, which cannot take a minimum).
"""

from __future__ import annotations

from cloudlease._frozen import Value
from cloudlease._log import log

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Final

#: The record layout and token rule this cloudlease writes: 2 = microsecond tokens.
#: Records without a schema marker were written by cloudlease before it (schema 1, ms tokens).
SCHEMA = 2
#: The schema of a record that carries no marker.
LEGACY_SCHEMA = 1


class LeaseRecord(Value):
    """One lease as a store holds it (all times in wall-clock epoch milliseconds).

    ``holder`` is ``""`` when the lease is free. ``token`` is the fencing token: strictly greater
    on every acquisition, never reused, kept on release (epoch µs at the latest grant, at most;
    see the module docstring). ``schema`` is 1 for records written by a cloudlease that counted
    tokens in ms.
    """

    __slots__ = (
        "acquired_at",
        "expires_at",
        "holder",
        "metadata",
        "name",
        "renewed_at",
        "schema",
        "token",
        "transitions",
    )
    _fields = (
        "name",
        "holder",
        "token",
        "expires_at",
        "acquired_at",
        "renewed_at",
        "transitions",
        "metadata",
        "schema",
    )
    #: The fields every stored record must have (the others have defaults).
    REQUIRED = ("name", "holder", "token", "expires_at")

    name: Final[str]
    holder: Final[str]
    token: Final[int]
    expires_at: Final[int]
    acquired_at: Final[int]
    renewed_at: Final[int]
    transitions: Final[int]
    metadata: Final[dict[str, Any]]
    schema: Final[int]

    def __init__(
        self,
        name: str,
        holder: str,
        token: int,
        expires_at: int,
        acquired_at: int = 0,
        renewed_at: int = 0,
        transitions: int = 0,
        metadata: dict[str, Any] | None = None,
        schema: int = SCHEMA,
    ) -> None:
        self.name = name
        self.holder = holder
        self.token = token
        self.expires_at = expires_at
        self.acquired_at = acquired_at
        self.renewed_at = renewed_at
        self.transitions = transitions
        self.metadata = {} if metadata is None else metadata
        self.schema = schema

    @property
    def is_released(self) -> bool:
        return self.holder == ""

    def is_expired(self, now_ms: int, allowance_ms: int = 0) -> bool:
        """True when a contender whose clock reads ``now_ms`` may take the lease over."""
        return now_ms > self.expires_at + allowance_ms

    def is_free(self, now_ms: int, allowance_ms: int = 0) -> bool:
        """True when the lease is released or expired beyond the takeover allowance."""
        return self.holder == "" or now_ms > self.expires_at + allowance_ms

    def as_dict(self) -> dict[str, Any]:
        """Every field by name, as stored (metadata copied)."""
        return {
            f: dict(self.metadata) if f == "metadata" else getattr(self, f) for f in self._fields
        }

    def to_json(self) -> dict[str, Any]:
        """A plain dict (the shape of ``cloudlease status --json``)."""
        return {**self.as_dict(), "holder": self.holder or None}


class AcquireRequest:
    """One acquire attempt. ``expires_at`` identifies the attempt when reading back.

    ``now_us`` is the same clock reading in µs, the floor of the attempt's token (0: derive it
    from ``now_ms``). ``steals`` (a steal, ``cloudlease steal``) is the (holder, token) the
    stealer read: the attempt may also take the lease while the record still names them.
    ``allowance_ms`` is the store's takeover allowance: a record is taken over only once
    ``now_ms > expires_at + allowance_ms``. Internal and made on every acquire, so plain slots.
    """

    __slots__ = (
        "allowance_ms",
        "holder",
        "metadata",
        "name",
        "now_ms",
        "now_us",
        "steals",
        "ttl_ms",
    )

    name: str
    holder: str
    ttl_ms: int
    now_ms: int
    allowance_ms: int
    metadata: dict[str, Any]
    now_us: int
    steals: tuple[str, int] | None

    def __init__(
        self,
        name: str,
        holder: str,
        ttl_ms: int,
        now_ms: int,
        allowance_ms: int,
        metadata: dict[str, Any],
        now_us: int = 0,
        steals: tuple[str, int] | None = None,
    ) -> None:
        self.name = name
        self.holder = holder
        self.ttl_ms = ttl_ms
        self.now_ms = now_ms
        self.allowance_ms = allowance_ms
        self.metadata = metadata
        self.now_us = now_us
        self.steals = steals

    @property
    def expires_at(self) -> int:
        return self.now_ms + self.ttl_ms

    @property
    def token_floor(self) -> int:
        """The least token this attempt writes: the writer's clock in epoch µs."""
        return self.now_us or self.now_ms * 1000


def can_acquire(current: LeaseRecord | None, request: AcquireRequest) -> bool:
    """True when ``request`` may take the lease given the ``current`` record (a steal: also
    while the record still names the holder and token the stealer read)."""
    return (
        current is None
        or current.holder == request.holder
        or current.is_free(request.now_ms, request.allowance_ms)
        or (request.steals is not None and holds(current, *request.steals))
    )


def next_token(current: LeaseRecord | None, now_us: int) -> int:
    """The fencing token of the next acquisition: strictly greater, never below ``now_us``.

    A fresh record starts at ``now_us``; afterwards ``max(previous + 1, now_us)``. A previous
    token in ms (schema 1) is far below ``now_us``, so the change of unit only raises tokens.
    """
    return now_us if current is None else max(current.token + 1, now_us)


def acquired(current: LeaseRecord | None, request: AcquireRequest) -> LeaseRecord:
    """The record after ``request`` acquired the lease (call only if ``can_acquire``)."""
    now_ms = request.now_ms
    if current is None:
        return LeaseRecord(
            request.name,
            request.holder,
            request.token_floor,
            now_ms + request.ttl_ms,
            now_ms,
            now_ms,
            1,
            dict(request.metadata),
            SCHEMA,
        )
    if current.schema < SCHEMA:
        warn_legacy(current)
    same_holder = current.holder == request.holder
    return LeaseRecord(
        request.name,
        request.holder,
        next_token(current, request.token_floor),
        now_ms + request.ttl_ms,
        current.acquired_at if same_holder else now_ms,
        now_ms,
        current.transitions + (0 if same_holder else 1),
        dict(request.metadata),
        SCHEMA,
    )


def warn_legacy(current: LeaseRecord) -> None:
    """Say that a record written by a pre-µs cloudlease is being lifted to schema 2.

    Harmless for a record that existed before the upgrade. If an older client re-created the
    record after a deletion, the tokens it granted were below earlier ones: finish the upgrade
    before records are deleted (docs/tokens.md, "Rolling upgrades").
    """
    log.warning(
        "cloudlease: lease %r was last written by an older cloudlease (schema %d, token %d "
        "in ms); this acquisition moves it to schema %d (tokens in µs). Upgrade every client "
        "before records are deleted (docs/tokens.md)",
        current.name,
        current.schema,
        current.token,
        SCHEMA,
    )


def holds(current: LeaseRecord | None, holder: str, token: int) -> bool:
    """True when ``current`` still names this holder and token."""
    return current is not None and current.holder == holder and current.token == token


def renewed(current: LeaseRecord, now_ms: int, ttl_ms: int) -> LeaseRecord:
    """The record after its holder renewed it (call only if ``holds``)."""
    c = current
    return LeaseRecord(
        c.name,
        c.holder,
        c.token,
        now_ms + ttl_ms,
        c.acquired_at,
        now_ms,
        c.transitions,
        c.metadata,
        c.schema,
    )


def released(current: LeaseRecord, now_ms: int) -> LeaseRecord:
    """The record after release: no holder, token kept, ``expires_at`` = the release time.

    One rule with DynamoDB's ``RELEASE_UPDATE`` (an update expression cannot take a minimum):
    a holder releasing after its expiry moves ``expires_at`` forward, which changes nothing for
    contenders (a released record is free whatever its expiry) and tells observers when the
    lease was let go.
    """
    c = current
    return LeaseRecord(
        c.name,
        "",
        c.token,
        now_ms,
        c.acquired_at,
        c.renewed_at,
        c.transitions,
        c.metadata,
        c.schema,
    )
