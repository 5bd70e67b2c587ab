"""Faults at the wire between botocore and moto: lost replies, resets and delays.

The store's own client never retries (a lost reply is resolved by reading the item back); a
client the user injects may retry on its own (botocore's standard mode), and then its retry of a
conditional write that already landed fails its condition on our own write. Both must come out
the same: acquired, renewed, released.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from botocore.config import Config

from cloudlease.errors import StoreUnavailable
from cloudlease.testing import FakeClock
from cloudlease_dynamodb import DynamoDBStore
from tests.dynamodb.conftest import REGION, create_table, session
from tests.wire.fixtures import (  # noqa: F401 (fault_proxy is a fixture)
    ProxyFactory,
    assert_holds,
    assert_released,
    fault_proxy,
)
from tests.wire.proxy import Fault, FaultProxy, header
from tests.wire.scenarios import acquire_renew_release, assert_renewed, release_under, renew_under

UPDATE_ITEM = header("X-Amz-Target", "DynamoDB_20120810.UpdateItem")
GET_ITEM = header("X-Amz-Target", "DynamoDB_20120810.GetItem")
#: How a reply gets lost: connection closed, connection reset, or held past the read timeout.
LOST = ["drop", "reset", "hold"]
#: The store's own client (no SDK retries), or an injected one that retries on its own.
CLIENTS = ["store", "retrying"]
READ_TIMEOUT = 0.5  # seconds: how long "hold" keeps the client waiting for nothing

Maker = Callable[..., DynamoDBStore]


@pytest.fixture
def proxy(fault_proxy: ProxyFactory, moto_endpoint: str) -> FaultProxy:  # noqa: F811
    return fault_proxy(moto_endpoint)


@pytest.fixture
def make(proxy: FaultProxy, moto_endpoint: str) -> Maker:
    """``make(client, clock=None)``: a store on a fresh table, every request via the proxy."""
    table = create_table(moto_endpoint)

    def make_store(client: str, clock: FakeClock | None = None) -> DynamoDBStore:
        config = Config(connect_timeout=1, read_timeout=READ_TIMEOUT)
        if client == "retrying":
            retrying = session().client(
                "dynamodb",
                region_name=REGION,
                endpoint_url=proxy.url,
                config=config.merge(Config(retries={"mode": "standard", "total_max_attempts": 3})),
            )
            return DynamoDBStore(table, client=retrying, clock=clock)
        return DynamoDBStore(
            table,
            region=REGION,
            endpoint_url=proxy.url,
            session=session(),
            config=config,
            clock=clock,
        )

    return make_store


def lose(proxy: FaultProxy, how: str) -> Fault:
    """Lose the reply to the next UpdateItem (moto applies it)."""
    if how == "hold":
        return proxy.arm("delay", UPDATE_ITEM, seconds=math.inf)
    return proxy.arm("drop" if how == "drop" else "reset", UPDATE_ITEM)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("how", LOST)
def test_an_acquire_whose_reply_was_lost_comes_out_acquired(
    make: Maker, proxy: FaultProxy, client: str, how: str
) -> None:
    store = make(client, FakeClock())
    fault = lose(proxy, how)
    lease = store.acquire("job", "holder-a", 10)
    assert fault.fired == 1
    if client == "store":  # the lost write, then one read back
        assert (proxy.count(UPDATE_ITEM), proxy.count(GET_ITEM)) == (1, 1)
    else:  # the lost write; botocore's retry, refused by it (ALL_OLD names us); re-entry
        assert (proxy.count(UPDATE_ITEM), proxy.count(GET_ITEM)) == (3, 0)
    assert_holds(store, lease)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("how", LOST)
def test_a_renewal_whose_reply_was_lost_does_not_end_the_tenure(
    make: Maker, proxy: FaultProxy, client: str, how: str
) -> None:
    store = make(client, FakeClock())
    tenure, first, fault = renew_under(store, lambda: lose(proxy, how), 30)
    assert fault.fired == 1
    assert_renewed(tenure, first)
    assert_holds(store, tenure.lease)


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("how", LOST)
def test_a_release_whose_reply_was_lost_leaves_the_record_released(
    make: Maker, proxy: FaultProxy, client: str, how: str
) -> None:
    store = make(client, FakeClock())
    lease, released = release_under(store, lambda: lose(proxy, how), 10)
    # botocore's retry finds the lease already released by its first attempt: "not ours".
    assert released is (client == "store")
    assert_released(store, lease)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_reset_before_the_request_was_forwarded_applies_nothing(
    make: Maker, proxy: FaultProxy, client: str
) -> None:
    store = make(client, FakeClock())
    fault = proxy.arm("reset_request", UPDATE_ITEM)
    if client == "store":
        with pytest.raises(StoreUnavailable, match="did not apply") as raised:
            store.acquire("job", "holder-a", 10)
        assert not raised.value.ambiguous  # read back: nothing there, retry is safe
        assert store.get("job") is None
        lease = store.acquire("job", "holder-a", 10)
    else:
        lease = store.acquire("job", "holder-a", 10)  # botocore retried it
        assert proxy.count(UPDATE_ITEM) == 2
    assert fault.fired == 1
    assert lease.record.transitions == 1
    assert_holds(store, lease)


@pytest.mark.parametrize("client", CLIENTS)
def test_replies_delayed_within_the_timeout_are_plain_successes(
    make: Maker, proxy: FaultProxy, client: str
) -> None:
    store = make(client, FakeClock())
    fault = proxy.arm("delay", UPDATE_ITEM, seconds=0.05, times=3)
    renewed = acquire_renew_release(store, 10)
    assert fault.fired == 3
    assert (proxy.count(UPDATE_ITEM), proxy.count(GET_ITEM)) == (3, 0)
    assert_released(store, renewed)
