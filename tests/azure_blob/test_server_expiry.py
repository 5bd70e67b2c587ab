"""Real 15 s blob leases lapsing on Azurite (slow: each test waits ~16 s of real time)."""

from __future__ import annotations

import time

import pytest

from cloudlease.errors import LeaseHeld, LeaseLost
from cloudlease.keeper import hold
from tests.azure_blob.azurite import Azurite

pytestmark = pytest.mark.slow


def test_a_lapsed_lease_is_taken_over_while_a_kept_one_is_not(
    azurite: Azurite, container: str
) -> None:
    store, _ = azurite.store(container)
    bare = store.acquire("bare", "a", 15)
    with hold(store, "kept", ttl=15, holder="k") as kept:
        time.sleep(16)
        taken = store.acquire("bare", "b", 15)  # the server let a's lease lapse
        assert taken.token > bare.token
        with pytest.raises(LeaseLost, match="'b'"):
            store.renew(bare)
        with pytest.raises(LeaseHeld):  # the keeper renewed k's lease on the server
            store.acquire("kept", "b", 15)
        assert kept.is_valid()
    record = store.get("kept")
    assert record is not None and record.holder == ""


def test_an_acquirer_that_died_midway_blocks_only_until_its_lease_lapses(
    azurite: Azurite, container: str
) -> None:
    store, wire = azurite.store(container)
    store.release(store.acquire("job", "a", 15))
    wire.fail("put:metadata", "unsent", times=4)
    wire.fail("lease:release", "unsent", times=4)  # it cannot even give the lease back
    with pytest.raises(Exception, match="lapses"):
        store.acquire("job", "b", 15)
    with pytest.raises(LeaseHeld, match="has not written its token") as caught:
        store.acquire("job", "c", 15)
    assert caught.value.record is not None
    time.sleep(16)
    lease = store.acquire("job", "c", 15)
    record = store.get("job")
    assert record is not None and (record.holder, record.token) == ("c", lease.token)


def test_a_reentry_restarts_the_blob_lease_so_it_outlives_the_first_grant(
    azurite: Azurite, container: str
) -> None:
    store, _ = azurite.store(container)
    store.acquire("job", "a", 15)
    time.sleep(8)
    again = store.acquire("job", "a", 15)  # re-entry: this grant counts 15 s from now
    time.sleep(9)  # past the first grant's 15 s, well inside the re-entry's
    with pytest.raises(LeaseHeld):
        store.acquire("job", "b", 15)
    assert store.renew(again).token == again.token
