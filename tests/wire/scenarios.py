"""The steps every wire-fault test takes, whichever store is behind the proxy.

Each provider's ``test_wire_faults.py`` arms its own faults (what a lost reply is on its wire)
and checks its own request counts; the lease side of a scenario is written once here. A store
passed in runs on a ``FakeClock`` (``store.clock``), so renewals fall due without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable

from cloudlease.lease import Lease
from cloudlease.store import LeaseStore
from cloudlease.tenure import Tenure, TimingPolicy
from cloudlease.testing import FakeClock
from tests.wire.fixtures import assert_holds
from tests.wire.proxy import Fault


def fake_clock(store: LeaseStore) -> FakeClock:
    """The FakeClock ``store`` runs on (every wire-fault store is made on one)."""
    clock = store.clock
    assert isinstance(clock, FakeClock)
    return clock


def renew_under(
    store: LeaseStore, arm: Callable[[], Fault], ttl: float
) -> tuple[Tenure, Lease, Fault]:
    """Acquire a tenure of "job", let its renewal fall due, ``arm()`` a fault and step once.

    Whatever the fault, the step keeps the tenure (renewed, or to be retried): returns the
    tenure, its first lease and the fault.
    """
    policy = TimingPolicy.for_store(store, lease="job", ttl=ttl)
    tenure = Tenure(store, "job", policy=policy, holder="holder-a").acquire()
    first = tenure.lease
    fake_clock(store).advance(policy.renew_every)
    fault = arm()
    assert tenure.step()
    assert not tenure.lost.is_set()
    return tenure, first, fault


def assert_renewed(tenure: Tenure, first: Lease) -> None:
    """``tenure`` renewed ``first`` once: the same token, the expiry one renewal period on."""
    assert tenure.token == first.token
    assert tenure.lease.expires_at == first.expires_at + round(tenure.policy.renew_every * 1000)


def assert_renewed_on_retry(tenure: Tenure, first: Lease) -> None:
    """``tenure``'s renewal failed (its expiry is ``first``'s); the retry renews, and it holds."""
    assert tenure.lease.expires_at == first.expires_at
    fake_clock(tenure.store).advance(tenure.policy.renew_retry)
    assert tenure.step()
    assert tenure.lease.expires_at > first.expires_at
    assert_holds(tenure.store, tenure.lease)


def release_under(
    store: LeaseStore, arm: Callable[[], Fault], ttl: float, *, fired: int = 1
) -> tuple[Lease, bool]:
    """Acquire "job", ``arm()`` a fault, release: the fault fired ``fired`` times.

    Returns the lease and what ``release`` answered.
    """
    lease = store.acquire("job", "holder-a", ttl)
    fault = arm()
    released = store.release(lease)
    assert fault.fired == fired
    return lease, released


def acquire_renew_release(store: LeaseStore, ttl: float) -> Lease:
    """Acquire "job", renew it a second later and release it: each a plain success."""
    lease = store.acquire("job", "holder-a", ttl)
    fake_clock(store).advance(1)
    renewed = store.renew(lease)
    assert store.release(renewed) is True
    return renewed
