"""hold(): hold a lease for the duration of a ``with`` block.

A thin front door on ``cloudlease.tenure``: the block acquires (failing fast or waiting),
the lease is renewed on a thread every ttl/3, and it is released on exit. The timing rules
(margins, step-down, retries) are the Tenure's and the TimingPolicy's, the same for every
front door.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cloudlease._validation import Duration
from cloudlease.store import LeaseStore
from cloudlease.tenure import FOREVER, HeldLease, Tenure, TimingPolicy

__all__ = ["FOREVER", "HeldLease", "hold"]


def hold(
    store: LeaseStore,
    name: str,
    *,
    ttl: Duration = 30.0,
    wait: Duration | None = None,
    holder: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    renew_every: Duration | None = None,
    on_lost: Callable[[HeldLease], None] | None = None,
    max_duration: Duration | None = None,
    release_at_exit: bool = True,
    renewal: str = "background",
) -> Tenure:
    """Hold lease ``name`` for the duration of a ``with`` block.

    Acquires (failing fast with LeaseHeld, or waiting up to ``wait`` seconds; ``FOREVER``
    waits without limit), renews every ``renew_every`` seconds (ttl/3) on a daemon thread,
    and releases on exit. If the lease is lost, ``held.lost`` is set, ``on_lost(held)`` is
    called once and ``held.ensure()`` raises LeaseLost; the block is not interrupted.
    ``max_duration`` caps the lease, renewals included, to that many seconds from now (a
    serverless invocation's remaining time), so a killed caller never blocks the next one
    past it. A lease still held when the interpreter exits is released then
    (``release_at_exit``; see also ``release_on_sigterm``). ``renewal="manual"`` starts no
    thread: renew with ``held.renew()`` / ``held.extend(seconds)``. Every option is checked
    here, before any request.
    """
    policy = TimingPolicy.for_store(
        store, lease=name, ttl=ttl, renew_every=renew_every, max_duration=max_duration
    )
    return Tenure(
        store,
        name,
        policy=policy,
        holder=holder,
        metadata=metadata,
        wait=wait,
        on_lost=on_lost,
        release_at_exit=release_at_exit,
        renewal=renewal,
    )
