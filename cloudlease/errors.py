"""The error hierarchy: one root, and every message names the lease, the store and the fix."""

from __future__ import annotations

TYPE_CHECKING = False

if TYPE_CHECKING:  # type-only: records imports nothing from here, so no circle
    from cloudlease.records import LeaseRecord


class CloudLeaseError(Exception):
    """Root of every error cloudlease raises.

    ``lease`` and ``store`` name what the error is about (either may be None when the error is
    not about one lease or one store); the message always says what to do next.
    """

    def __init__(self, message: str, *, lease: str | None = None, store: str | None = None):
        # ``args`` is ``(message,)`` already; the text names the lease and the store when it is
        # shown (``__str__``), not when raised: a refused acquire raises one on every attempt.
        self.lease = lease
        self.store = store
        self.detail = message

    def __str__(self) -> str:
        lease, store = self.lease, self.store
        if lease is not None and store is not None:
            return f"[lease {lease!r}, store {store}] {self.detail}"
        if lease is not None:
            return f"[lease {lease!r}] {self.detail}"
        return self.detail if store is None else f"[store {store}] {self.detail}"


class ConfigError(CloudLeaseError, ValueError):
    """Bad input (name, duration, URL, metadata, timing config), refused before any request."""


class LeaseHeld(CloudLeaseError):
    """The lease is held by someone else; ``record`` is the record as observed in the same call."""

    def __init__(
        self,
        message: str,
        *,
        lease: str | None = None,
        store: str | None = None,
        record: LeaseRecord | None = None,
    ):
        # CloudLeaseError.__init__'s three fields, set here without the call: a refused
        # acquire raises one of these on every attempt.
        self.lease = lease
        self.store = store
        self.detail = message
        self.record = record


class StealConflict(LeaseHeld):
    """A steal found the lease changed between its read and its write (another steal, a
    release and a new acquisition): nothing was written; ``record`` is what it found."""


class LeaseLost(CloudLeaseError):
    """The lease is no longer ours: taken over, released, expired locally, or renewal failed."""


class RunSkipped(CloudLeaseError):
    """A guarded call did not run: ``reason`` is ``"held"`` (running elsewhere) or ``"done"``
    (its tick already completed)."""

    def __init__(
        self, message: str, *, lease: str | None = None, store: str | None = None, reason: str
    ):
        super().__init__(message, lease=lease, store=store)
        self.reason = reason


class StoreUnavailable(CloudLeaseError):
    """The store could not be reached or refused service (throttling, 5xx, network).

    ``ambiguous`` is True when the request may have been applied; stores resolve that by reading
    the record back before this error reaches a caller.
    """

    def __init__(
        self,
        message: str,
        *,
        lease: str | None = None,
        store: str | None = None,
        ambiguous: bool = False,
    ):
        super().__init__(message, lease=lease, store=store)
        self.ambiguous = ambiguous


class StoreMisconfigured(CloudLeaseError):
    """The store exists but cannot serve: missing table/container, no credentials, no access,
    or a record that cloudlease did not write. Retrying does not help; the message says the fix."""


class CorruptRecord(StoreMisconfigured):
    """A stored record is not a cloudlease record (wrong types, missing fields)."""


class ClockSkewed(StoreMisconfigured):
    """This client's wall clock is farther from the store's than the clock bound: acquiring
    would break the guarantees (expiry and tokens are compared across clocks). ``offset_ms`` is
    the measured offset, store minus local; fix the host's time sync (NTP)."""

    def __init__(
        self,
        message: str,
        *,
        lease: str | None = None,
        store: str | None = None,
        offset_ms: float,
    ):
        super().__init__(message, lease=lease, store=store)
        self.offset_ms = offset_ms
