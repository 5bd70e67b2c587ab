"""LeaseStore (what the layers above need from a store) and StoreSettings (what the lifecycle
reads of a store, sync or async).

Kept apart from ``cloudlease.store`` because a Protocol needs ``typing`` at runtime, which a
cold start would otherwise pay; ``cloudlease.store.LeaseStore`` and ``StoreSettings`` load it
on first use.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict, runtime_checkable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from cloudlease._protocols import Clock
    from cloudlease._validation import Duration
    from cloudlease.capabilities import Capabilities
    from cloudlease.lease import Lease
    from cloudlease.records import LeaseRecord
    from cloudlease.skew import ClockOffset


class Timing(TypedDict, total=False):
    """The timing options every store takes (``StoreCore``), as one ``**timing`` argument:
    ``clock``, ``takeover_allowance``, ``clock_skew_bound`` (default 1 s), ``safety_margin``."""

    clock: Clock | None
    takeover_allowance: Duration | None
    clock_skew_bound: Duration
    safety_margin: Duration | None


@runtime_checkable
class StoreSettings(Protocol):
    """What the lifecycle reads of a store, sync or async: its clock, limits and allowances."""

    clock: Clock
    capabilities: Capabilities
    takeover_allowance: float
    clock_skew_bound: float
    safety_margin: float | None
    clock_offset: ClockOffset

    @property
    def url(self) -> str: ...


@runtime_checkable
class LeaseStore(StoreSettings, Protocol):
    """What the layers above (hold, LeaderElector, runner, CLI) need from a store."""

    def acquire(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease: ...

    def steal(
        self, name: str, holder: str, ttl: Duration, metadata: Mapping[str, Any] | None = None
    ) -> Lease: ...

    def renew(self, lease: Lease, ttl: Duration | None = None) -> Lease: ...

    def release(self, lease: Lease) -> bool: ...

    def get(self, name: str) -> LeaseRecord | None: ...

    def records(self) -> list[LeaseRecord]: ...

    def force_release(self, name: str) -> LeaseRecord | None: ...

    def init(self) -> None: ...

    def close(self) -> None: ...
