"""hold(): hold a lease for the duration of a ``with`` (or ``async with``) block.

A thin front door on ``cloudlease.tenure``: the block acquires (failing fast or waiting),
the lease is renewed every ttl/3, and it is released on exit. The timing rules (margins,
step-down, retries) are the Tenure's and the TimingPolicy's, the same for every front door.

One name for both sides: the store decides. A sync store (``open_store``) gives a ``Tenure``
for ``with``, renewed by the process's renewal scheduler; an async store
(``open_async_store``) gives an ``AsyncTenure`` for ``async with``, renewed by a task on the
event loop (docs/async.md).
"""

from __future__ import annotations

from cloudlease.store import is_async
from cloudlease.tenure import FOREVER, HeldLease, Tenure, TimingPolicy

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing's machinery stays out of a cold start: hold() is the front door
    from collections.abc import Callable, Mapping
    from typing import Any, TypedDict, overload

    from typing_extensions import Unpack

    from cloudlease._validation import Duration
    from cloudlease.async_store import AsyncLeaseStore
    from cloudlease.async_tenure import AsyncTenure
    from cloudlease.store import LeaseStore

    class HoldOptions(TypedDict, total=False):
        """The keyword options of ``hold()`` (documented there)."""

        ttl: Duration
        wait: Duration | None
        holder: str | None
        metadata: Mapping[str, Any] | None
        renew_every: Duration | None
        on_lost: Callable[[Any], None] | None
        max_duration: Duration | None
        release_at_exit: bool
        renewal: str
        slots: int

else:

    def overload(function: object) -> object:
        """``typing.overload`` at runtime (the last definition wins), without ``typing``."""
        return function


__all__ = ["FOREVER", "HeldLease", "hold"]


@overload
def hold(store: AsyncLeaseStore, name: str, **options: Unpack[HoldOptions]) -> AsyncTenure: ...


@overload
def hold(  # noqa: F811 (ruff does not see the runtime overload above as typing's)
    store: LeaseStore, name: str, **options: Unpack[HoldOptions]
) -> Tenure: ...


def hold(  # noqa: F811
    store: LeaseStore | AsyncLeaseStore,
    name: str,
    *,
    ttl: Duration = 30.0,
    wait: Duration | None = None,
    holder: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    renew_every: Duration | None = None,
    on_lost: Callable[[Any], None] | None = None,
    max_duration: Duration | None = None,
    release_at_exit: bool = True,
    renewal: str = "background",
    slots: int = 1,
) -> Tenure | AsyncTenure:
    """Hold lease ``name`` for the duration of a ``with`` block (``async with`` when
    ``store`` is an async store, from ``open_async_store``).

    Acquires (failing fast with LeaseHeld, or waiting up to ``wait`` seconds; ``FOREVER`` waits
    without limit), renews every ``renew_every`` seconds (ttl/3, less up to 20 % of jitter) from
    the process's renewal scheduler (async: in a task on the loop), and releases on exit. If the
    lease is lost, ``held.lost`` is set, ``on_lost(held)`` is called once and ``held.ensure()``
    raises LeaseLost; the block is not interrupted. ``max_duration`` caps the lease, renewals
    included, to that many seconds from now (a serverless invocation's remaining time), so a
    killed caller never blocks the next one past it. A sync lease still held when the
    interpreter exits is released then (``release_at_exit``; see also ``release_on_sigterm``);
    an async one is released when its block exits or its task is cancelled. ``renewal="manual"``
    starts no renewer: renew with ``held.renew()`` / ``held.extend(seconds)`` (awaited on the
    async side). ``slots=N`` makes ``name`` a semaphore: at most N holders at once, each on
    its own slot record (``NAME.slot-K``; ``held.slot`` says which) with its own fencing
    token, renewed and released like a lease (docs/operations.md, "Semaphores"). Every option
    is checked here, before any request; ``with`` on an async store, or ``async with`` on a
    sync one, raises ConfigError naming the right call.
    """
    policy = TimingPolicy.for_store(
        store, lease=name, ttl=ttl, renew_every=renew_every, max_duration=max_duration
    )
    side: type[Tenure | AsyncTenure] = Tenure
    if is_async(store):
        from cloudlease.async_tenure import AsyncTenure  # only async users load asyncio

        side = AsyncTenure
    return side(
        store,
        name,
        policy=policy,
        holder=holder,
        metadata=metadata,
        wait=wait,
        on_lost=on_lost,
        release_at_exit=release_at_exit,
        renewal=renewal,
        slots=slots,
    )
