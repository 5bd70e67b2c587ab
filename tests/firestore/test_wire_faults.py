"""Faults at the wire between gRPC and the Firestore emulator: lost replies, resets and delays.

The client is built from FIRESTORE_EMULATOR_HOST, pointed at the proxy, as a user's would be.
The proxy sees HTTP/2 frames: it lets a Commit through, waits for the emulator's whole reply,
then closes or resets the connection (every stream on the channel dies with it), answers
RST_STREAM on that stream only, or holds the reply past the call's deadline. The store sends
each commit once (``_rpc``: no hidden retries), so a lost one is resolved by reading back.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from cloudlease.errors import StoreUnavailable
from cloudlease.tenure import Tenure, TimingPolicy
from cloudlease.testing import FakeClock
from cloudlease_firestore import FirestoreStore
from tests.firestore.conftest import Emulator
from tests.wire.fixtures import (  # noqa: F401 (fault_proxy is a fixture)
    ProxyFactory,
    assert_holds,
    assert_released,
    fault_proxy,
)
from tests.wire.proxy import Fault, FaultProxy, grpc_method
from tests.wire.scenarios import (
    acquire_renew_release,
    assert_renewed,
    assert_renewed_on_retry,
    release_under,
    renew_under,
)

COMMIT = grpc_method("Commit")
READ = grpc_method("BatchGetDocuments")
#: Seconds: the store's per-call deadline, how long "hold" keeps it waiting. Generous: the
#: emulator also enforces it, and a commit it gave up on is (rightly) one that did not apply.
TIMEOUT = 3.0
#: drop/reset: the connection dies (every stream on it); reset_stream: that stream only;
#: hold: the reply is held past the call's deadline.
LOST = ["drop", "reset", "reset_stream", "hold"]

Maker = Callable[..., FirestoreStore]


@pytest.fixture
def proxy(fault_proxy: ProxyFactory, emulator: Emulator) -> FaultProxy:  # noqa: F811
    return fault_proxy(emulator.host, http2=True)


@pytest.fixture
def make(
    proxy: FaultProxy, emulator: Emulator, collection: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Maker]:
    """``make(clock, **options)``: a store that opens its own client, through the proxy."""
    monkeypatch.setenv("FIRESTORE_EMULATOR_HOST", proxy.address)
    stores: list[FirestoreStore] = []

    def make_store(clock: FakeClock) -> FirestoreStore:
        # A store with a long deadline opens the client (as a user's would, from the
        # environment) and the channel, and warms a cold emulator; the store under test
        # shares that client with the short deadline.
        opener = FirestoreStore(emulator.project, collection, clock=clock, timeout=60)
        stores.append(opener)
        opener.get("warm-up")
        proxy.requests.clear()
        return FirestoreStore(
            emulator.project, collection, client=opener.client, clock=clock, timeout=TIMEOUT
        )

    yield make_store
    for store in stores:
        store.close()


def lose(proxy: FaultProxy, how: str) -> Fault:
    """Lose the reply to the next Commit (the emulator applies it)."""
    if how == "hold":
        return proxy.arm("delay", COMMIT, seconds=math.inf)
    return proxy.arm(how, COMMIT)  # type: ignore[arg-type]


@pytest.mark.parametrize("how", LOST)
def test_an_acquire_whose_commit_reply_was_lost_comes_out_acquired(
    make: Maker, proxy: FaultProxy, how: str
) -> None:
    store = make(FakeClock())
    fault = lose(proxy, how)
    lease = store.acquire("job", "holder-a", 10)
    assert fault.fired == 1
    # read, the lost commit, one read back (nothing else: no transaction to roll back)
    assert [proxy.count(m) for m in (READ, COMMIT)] == [2, 1]
    assert proxy.count() == 3
    assert_holds(store, lease)


@pytest.mark.parametrize("how", LOST)
def test_a_renewal_whose_commit_reply_was_lost_does_not_end_the_tenure(
    make: Maker, proxy: FaultProxy, how: str
) -> None:
    clock = FakeClock()
    store = make(clock)
    tenure, first, fault = renew_under(store, lambda: lose(proxy, how), 30)
    assert fault.fired == 1
    assert_renewed(tenure, first)
    # The read back also learned the document's update_time: the next renewal is one commit.
    clock.advance(tenure.policy.renew_every)
    proxy.requests.clear()
    assert tenure.step()
    assert (proxy.count(), proxy.count(COMMIT)) == (1, 1)
    assert_holds(store, tenure.lease)


@pytest.mark.parametrize("how", LOST)
def test_a_release_whose_commit_reply_was_lost_leaves_the_record_released(
    make: Maker, proxy: FaultProxy, how: str
) -> None:
    store = make(FakeClock())
    lease, released = release_under(store, lambda: lose(proxy, how), 10)
    assert released is True
    assert_released(store, lease)


def test_a_reset_before_the_commit_was_forwarded_applies_nothing(
    make: Maker, proxy: FaultProxy
) -> None:
    store = make(FakeClock())
    fault = proxy.arm("reset_request", COMMIT)
    with pytest.raises(StoreUnavailable, match="did not apply") as raised:
        store.acquire("job", "holder-a", 10)
    assert not raised.value.ambiguous  # read back: nothing there, a retry is safe
    assert store.get("job") is None
    # the renewal did not apply: retried later, the tenure goes on
    tenure, first, again = renew_under(store, lambda: proxy.arm("reset_request", COMMIT), 30)
    assert fault.fired == again.fired == 1
    assert_renewed_on_retry(tenure, first)


def test_closing_the_channel_kills_every_stream_on_it(
    make: Maker, proxy: FaultProxy, emulator: Emulator, collection: str
) -> None:
    """Two holders renew on one channel. Holder B's Commit is applied and its reply held; then
    holder A's reply is lost by closing the connection, which kills B's stream as well. Both
    settle by reading back: both renewals count, neither tenure ends."""
    clock = FakeClock()
    store_a = make(clock)
    store_b = FirestoreStore(
        emulator.project, collection, client=store_a.client, clock=clock, timeout=TIMEOUT
    )
    policy = TimingPolicy.for_store(store_a, lease="job", ttl=30)
    a = Tenure(store_a, "job-a", policy=policy, holder="holder-a").acquire()
    b = Tenure(store_b, "job-b", policy=policy, holder="holder-b").acquire()
    first = {tenure: tenure.lease for tenure in (a, b)}
    clock.advance(policy.renew_every)
    held = proxy.arm("delay", COMMIT, seconds=math.inf)
    stepped: list[bool] = []
    thread = threading.Thread(target=lambda: stepped.append(b.step()))
    thread.start()
    wait_for(lambda: held.answered == 1)  # B's commit is applied; its reply waits in the proxy
    dropped = proxy.arm("drop", COMMIT)
    assert a.step()
    thread.join(30)
    assert stepped == [True]
    assert dropped.answered == 1
    for tenure, lease in first.items():
        assert not tenure.lost.is_set()
        assert_renewed(tenure, lease)
        assert_holds(tenure.store, tenure.lease)


def test_replies_delayed_within_the_deadline_are_plain_successes(
    make: Maker, proxy: FaultProxy
) -> None:
    store = make(FakeClock())
    fault = proxy.arm("delay", seconds=0.05, times=100)  # every request
    renewed = acquire_renew_release(store, 10)
    # read, commit; commit; commit: no read back, no retry
    assert proxy.count() == fault.fired == 4
    assert_released(store, renewed)


def wait_for(condition: Callable[[], bool], limit: float = 30.0) -> None:
    """Poll until ``condition`` holds (``limit`` only guards against a hang)."""
    give_up = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < give_up, "the proxy never saw the expected request"
        time.sleep(0.01)
