"""cloudlease: elect a single runner on a store you already have.

The public surface is re-exported here; submodules load on first use, so ``import cloudlease``
stays cheap in a cold-starting function.
"""

from __future__ import annotations

import sys

from cloudlease.errors import (
    ClockSkewed,
    CloudLeaseError,
    ConfigError,
    CorruptRecord,
    LeaseHeld,
    LeaseLost,
    RunSkipped,
    StealConflict,
    StoreMisconfigured,
    StoreUnavailable,
)

__version__ = "0.1.0"  # the one version source of this distribution (pyproject reads it)

_LAZY = {
    "Clock": "cloudlease.clock",
    "SystemClock": "cloudlease.clock",
    "Lease": "cloudlease.lease",
    "LeaseRecord": "cloudlease.lease",
    "Capabilities": "cloudlease.store",
    "LeaseStore": "cloudlease.store",
    "BaseStore": "cloudlease.store",
    "default_holder_id": "cloudlease.store",
    "hold": "cloudlease.keeper",
    "HeldLease": "cloudlease.tenure",
    "FOREVER": "cloudlease.tenure",
    "Tenure": "cloudlease.tenure",
    "TimingPolicy": "cloudlease.tenure",
    "release_on_sigterm": "cloudlease.tenure",
    "Fence": "cloudlease.lease",
    "LeaderElector": "cloudlease.elector",
    "open_store": "cloudlease.urls",
    "open_async_store": "cloudlease.urls",
    "AsyncLeaseStore": "cloudlease.async_store",
    "AsyncBaseStore": "cloudlease.async_store",
    "AsyncTenure": "cloudlease.async_tenure",
    "AsyncLeaderElector": "cloudlease.async_elector",
    "installed_schemes": "cloudlease.urls",
    "single_runner": "cloudlease.runner",
    "current_lease": "cloudlease.runner",
    "every": "cloudlease.ticks",
    "ResultNotShared": "cloudlease.ticks",
}

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from cloudlease.async_elector import AsyncLeaderElector
    from cloudlease.async_store import AsyncBaseStore, AsyncLeaseStore
    from cloudlease.async_tenure import AsyncTenure
    from cloudlease.clock import Clock, SystemClock
    from cloudlease.elector import LeaderElector
    from cloudlease.keeper import hold
    from cloudlease.lease import Fence, Lease, LeaseRecord
    from cloudlease.runner import current_lease, single_runner
    from cloudlease.store import BaseStore, Capabilities, LeaseStore, default_holder_id
    from cloudlease.tenure import FOREVER, HeldLease, Tenure, TimingPolicy, release_on_sigterm
    from cloudlease.ticks import ResultNotShared, every
    from cloudlease.urls import installed_schemes, open_async_store, open_store


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'cloudlease' has no attribute {name!r}")
    __import__(module)
    value = getattr(sys.modules[module], name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "FOREVER",
    "AsyncBaseStore",
    "AsyncLeaderElector",
    "AsyncLeaseStore",
    "AsyncTenure",
    "BaseStore",
    "Capabilities",
    "Clock",
    "ClockSkewed",
    "CloudLeaseError",
    "ConfigError",
    "CorruptRecord",
    "Fence",
    "HeldLease",
    "LeaderElector",
    "Lease",
    "LeaseHeld",
    "LeaseLost",
    "LeaseRecord",
    "LeaseStore",
    "ResultNotShared",
    "RunSkipped",
    "StealConflict",
    "StoreMisconfigured",
    "StoreUnavailable",
    "SystemClock",
    "Tenure",
    "TimingPolicy",
    "current_lease",
    "default_holder_id",
    "every",
    "hold",
    "installed_schemes",
    "open_async_store",
    "open_store",
    "release_on_sigterm",
    "single_runner",
]
