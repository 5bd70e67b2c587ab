"""The fault proxy as a pytest fixture, and the checks every wire-fault test makes.

Use it from any test module (fixtures shared this way need no conftest)::

    from tests.wire.fixtures import ProxyFactory, fault_proxy  # noqa: F401 (a fixture)
    from tests.wire.proxy import header

    def test_lost_reply(fault_proxy: ProxyFactory, moto_endpoint: str) -> None:
        proxy = fault_proxy(moto_endpoint)  # "http://127.0.0.1:PORT", or a port
        store = DynamoDBStore(table, endpoint_url=proxy.url, ...)
        fault = proxy.arm("drop", header("X-Amz-Target", "DynamoDB_20120810.UpdateItem"))
        lease = store.acquire("job", "holder-a", 10)
        assert fault.fired == 1  # the fault did act: the test cannot pass vacuously

``fault_proxy(upstream, http2=True)`` proxies gRPC (the Firestore emulator's ``host:port``).
Every proxy the factory started is stopped when the test ends. A history harness that wants
wire faults for longer than a test uses ``FaultProxy`` itself as a context manager.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest

from cloudlease.errors import LeaseHeld
from cloudlease.lease import Lease
from cloudlease.store import LeaseStore
from tests.wire.proxy import FaultProxy

ProxyFactory = Callable[..., FaultProxy]


def upstream_port(upstream: str | int) -> int:
    """The port of ``upstream``: a port, ``host:port`` or ``http://host:port/...``."""
    if isinstance(upstream, int):
        return upstream
    text = upstream if "//" in upstream else f"//{upstream}"
    port = urlsplit(text).port
    if port is None:
        raise ValueError(f"no port in {upstream!r}")
    return port


@pytest.fixture
def fault_proxy() -> Iterator[ProxyFactory]:
    """``fault_proxy(upstream, http2=False)`` -> a started FaultProxy to ``upstream``."""
    started: list[FaultProxy] = []

    def start(upstream: str | int, *, http2: bool = False) -> FaultProxy:
        proxy = FaultProxy(upstream_port(upstream), http2=http2).start()
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.stop()


def assert_holds(store: LeaseStore, lease: Lease, *, rival: str = "rival") -> None:
    """The record names ``lease`` (holder and token) and a rival is refused."""
    record = store.get(lease.name)
    assert record is not None
    assert (record.holder, record.token) == (lease.holder, lease.token)
    with pytest.raises(LeaseHeld):
        store.acquire(lease.name, rival, lease.ttl)


def assert_released(store: LeaseStore, lease: Lease, *, rival: str = "rival") -> None:
    """The record is released with ``lease``'s token kept, and a rival takes it next."""
    record = store.get(lease.name)
    assert record is not None
    assert (record.holder, record.token) == ("", lease.token)
    assert store.acquire(lease.name, rival, lease.ttl).token > lease.token
