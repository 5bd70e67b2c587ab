"""Faults at the wire between the Azure SDK and Azurite: lost replies, resets and delays.

The store opens its client as users do (the connection string, the shipped retry policy),
pointed at the proxy. The SDK retries a request whose reply was lost; every lease request names
an id fixed by the attempt, so a retry of one that landed must still come out as acquired,
renewed, released.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import pytest

from cloudlease.errors import StoreUnavailable
from cloudlease.testing import FakeClock
from cloudlease_azure_blob import AzureBlobStore
from cloudlease_azure_blob._client import RETRY_TOTAL
from tests.azure_blob.azurite import Azurite
from tests.wire.fixtures import (  # noqa: F401 (fault_proxy is a fixture)
    ProxyFactory,
    assert_holds,
    assert_released,
    fault_proxy,
)
from tests.wire.proxy import Fault, FaultProxy, Match, Request
from tests.wire.scenarios import (
    acquire_renew_release,
    assert_renewed,
    assert_renewed_on_retry,
    release_under,
    renew_under,
)

READ_TIMEOUT = 1  # seconds (the SDK takes whole seconds): how long "hold" keeps it waiting
LOST = ["drop", "reset", "hold"]
TTL = 15

Maker = Callable[[FakeClock], AzureBlobStore]


def lease_action(action: str) -> Match:
    """Lease Blob requests with ``x-ms-lease-action: action`` (acquire, renew, change...)."""
    return lambda r: r.query("comp") == "lease" and r.header("x-ms-lease-action") == action


def set_metadata(request: Request) -> bool:
    return request.method == "PUT" and request.query("comp") == "metadata"


def create_blob(request: Request) -> bool:
    return request.method == "PUT" and not request.query("comp")


def read_blob(request: Request) -> bool:
    return request.method == "HEAD"


STEPS: dict[str, Match] = {
    "create": create_blob,
    "lease:acquire": lease_action("acquire"),
    "metadata": set_metadata,
    "lease:renew": lease_action("renew"),
    "lease:release": lease_action("release"),
    "lease:change": lease_action("change"),
}


#: Requests of one first acquire, one renewal and one release, when nothing goes wrong.
HAPPY_PATH = {"lease:acquire": 1, "metadata": 2, "lease:renew": 1, "lease:release": 1}


@pytest.fixture
def proxy(fault_proxy: ProxyFactory, azurite: Azurite) -> FaultProxy:  # noqa: F811
    return fault_proxy(azurite.port)


@pytest.fixture
def make(proxy: FaultProxy, container: str, monkeypatch: pytest.MonkeyPatch) -> Maker:
    """``make(clock)``: a store opened from the connection string, through the proxy."""
    via = Azurite(proxy.port)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", via.connection_string)

    def make_store(clock: FakeClock) -> AzureBlobStore:
        options = {"read_timeout": READ_TIMEOUT, "connection_timeout": 1}
        return AzureBlobStore(via.url(container), clock=clock, client_options=options)

    return make_store


def lose(proxy: FaultProxy, how: str, step: str, times: int = 1) -> Fault:
    """Lose the replies to the next ``times`` requests of ``step`` (Azurite applies them)."""
    if how == "hold":
        return proxy.arm("delay", STEPS[step], seconds=math.inf, times=times)
    return proxy.arm("drop" if how == "drop" else "reset", STEPS[step], times=times)


@pytest.mark.parametrize("step", ["create", "lease:acquire", "metadata"])
@pytest.mark.parametrize("how", LOST)
def test_an_acquire_whose_reply_was_lost_comes_out_acquired(
    make: Maker, proxy: FaultProxy, how: str, step: str
) -> None:
    store = make(FakeClock())
    fault = lose(proxy, how, step)
    lease = store.acquire("job", "holder-a", TTL)
    assert fault.fired == 1
    assert proxy.count(STEPS[step]) == 2  # the SDK retried the request whose reply was lost
    assert_holds(store, lease)


@pytest.mark.parametrize("step", ["lease:acquire", "lease:change"])
@pytest.mark.parametrize("how", LOST)
def test_a_reentry_whose_lease_reply_was_lost_comes_out_acquired(
    make: Maker, proxy: FaultProxy, how: str, step: str
) -> None:
    store = make(FakeClock())
    first = store.acquire("job", "holder-a", TTL)
    fault = lose(proxy, how, step)
    again = store.acquire("job", "holder-a", TTL)
    assert fault.fired == 1
    assert again.token > first.token
    assert_holds(store, again)


@pytest.mark.parametrize("how", LOST)
def test_a_renewal_whose_reply_was_lost_does_not_end_the_tenure(
    make: Maker, proxy: FaultProxy, how: str
) -> None:
    store = make(FakeClock())
    tenure, first, fault = renew_under(store, lambda: lose(proxy, how, "lease:renew"), TTL)
    assert fault.fired == 1
    assert_renewed(tenure, first)
    assert_holds(store, tenure.lease)


@pytest.mark.parametrize("step", ["metadata", "lease:release"])
@pytest.mark.parametrize("how", LOST)
def test_a_release_whose_reply_was_lost_leaves_the_record_released(
    make: Maker, proxy: FaultProxy, how: str, step: str
) -> None:
    store = make(FakeClock())
    lease, released = release_under(store, lambda: lose(proxy, how, step), TTL)
    assert released is True
    assert_released(store, lease)


@pytest.mark.parametrize("step", ["lease:acquire", "metadata", "lease:renew", "lease:release"])
def test_a_reset_before_the_request_was_forwarded_is_retried_by_the_sdk(
    make: Maker, proxy: FaultProxy, step: str
) -> None:
    store = make(FakeClock())
    fault = proxy.arm("reset_request", STEPS[step])
    lease = acquire_renew_release(store, TTL)
    assert fault.fired == 1
    assert proxy.count(STEPS[step]) == HAPPY_PATH[step] + 1  # and the SDK's retry
    assert_released(store, lease)


def test_replies_delayed_within_the_timeout_are_plain_successes(
    make: Maker, proxy: FaultProxy
) -> None:
    store = make(FakeClock())
    fault = proxy.arm("delay", seconds=0.05, times=100)  # every request
    renewed = acquire_renew_release(store, TTL)
    # read, create, take the blob lease, write the record; renew; write, release: no retries
    assert proxy.count() == fault.fired == 7
    assert_released(store, renewed)


# When the SDK's retries run out too (every attempt's reply lost):

EVERY = RETRY_TOTAL + 1  # attempts the SDK makes


@pytest.mark.parametrize("how", LOST)
def test_an_acquire_whose_every_blob_lease_reply_was_lost_gives_the_blob_lease_back(
    make: Maker, proxy: FaultProxy, how: str
) -> None:
    store = make(FakeClock())
    fault = lose(proxy, how, "lease:acquire", times=EVERY)
    with pytest.raises(StoreUnavailable) as raised:
        store.acquire("job", "holder-a", TTL)
    assert fault.fired == EVERY
    assert not raised.value.ambiguous  # the blob lease was released: nothing is ours
    assert store.get("job") is None
    assert_holds(store, store.acquire("job", "holder-b", TTL))


@pytest.mark.parametrize("how", LOST)
def test_an_acquire_whose_every_record_write_reply_was_lost_comes_out_acquired(
    make: Maker, proxy: FaultProxy, how: str
) -> None:
    store = make(FakeClock())
    fault = lose(proxy, how, "metadata", times=EVERY)
    lease = store.acquire("job", "holder-a", TTL)  # read back: the token was written
    assert fault.fired == EVERY
    assert_holds(store, lease)


@pytest.mark.parametrize("how", LOST)
def test_a_renewal_whose_every_reply_was_lost_is_retried_by_the_tenure(
    make: Maker, proxy: FaultProxy, how: str
) -> None:
    store = make(FakeClock())
    # StoreUnavailable: retried after renew_retry, the tenure goes on
    tenure, first, fault = renew_under(
        store, lambda: lose(proxy, how, "lease:renew", times=EVERY), TTL
    )
    assert fault.fired == EVERY
    assert_renewed_on_retry(tenure, first)


@pytest.mark.parametrize("step", ["metadata", "lease:release"])
@pytest.mark.parametrize("how", LOST)
def test_a_release_whose_every_reply_was_lost_leaves_no_blob_lease_behind(
    make: Maker, proxy: FaultProxy, how: str, step: str
) -> None:
    store = make(FakeClock())
    arm = partial(lose, proxy, how, step, times=EVERY)
    lease, released = release_under(store, arm, TTL, fired=EVERY)
    assert released is True  # read back: the record is released
    assert_released(store, lease)
