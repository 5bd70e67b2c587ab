"""The core conformance suite on Azurite, with ttl = 15 s (Azure's minimum blob lease), on
both sides (the ``side`` fixture): ``AzureBlobStore`` and ``AsyncAzureBlobStore`` (aio).

Expiry is the server's: ``let_expire`` breaks the blob leases (break period 0, which is what
a lapsed lease looks like to the next acquirer) and advances the FakeClock, so the suite does
not sleep. ``test_server_expiry.py`` lets real 15 s leases lapse.
"""

from __future__ import annotations

from typing import Any

import pytest
from azure.storage.blob import BlobLeaseClient, ContainerClient

from cloudlease.errors import LeaseHeld
from cloudlease.lease import Lease
from cloudlease.store import BaseStore
from cloudlease.testing.blocking import BlockingStore, Sides
from cloudlease.testing.clock import FakeClock
from cloudlease.testing.conformance import A, B, ConformanceSuite, FencedWrites, StoreFactory
from cloudlease_azure_blob import AzureBlobStore
from tests.azure_blob.azurite import Azurite


def break_all(client: ContainerClient) -> None:
    """Break every active blob lease in ``client``'s container (as if each had lapsed)."""
    for blob in client.list_blobs():
        if blob.lease.state in ("leased", "breaking"):
            BlobLeaseClient(client.get_blob_client(blob.name)).break_lease(lease_break_period=0)


class TestAzureBlobConformance(FencedWrites, ConformanceSuite):
    ttl = 15.0
    client: ContainerClient  # a sync client on the test's container, for let_expire

    @pytest.fixture
    def make_store(
        self,
        azurite: Azurite,
        container: str,
        side: Sides,
        monkeypatch: pytest.MonkeyPatch,
    ) -> StoreFactory:
        self.client = azurite.container_client(container)

        def make(**options: Any) -> BaseStore:
            store, _ = azurite.store(container, **options)
            return store

        def asynchronous(**options: Any) -> Any:
            from cloudlease_azure_blob.aio import AsyncAzureBlobStore

            # The store opens its own aio client, from the connection string as in production.
            monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
            return AsyncAzureBlobStore(azurite.url(container), **options)

        return side.factory(make, asynchronous)

    def fenced_write(self, store: BaseStore, lease: Lease) -> None:
        """Write the lease blob's content under the blob lease: Azure refuses a stale one."""
        data = f"written under token {lease.token}".encode()
        if isinstance(store, BlockingStore):  # the async side's own helper, awaited
            store.loop.run_until_complete(store.inner.write_lease_blob(lease, data))  # type: ignore[attr-defined]
            return
        assert isinstance(store, AzureBlobStore)
        store.write_lease_blob(lease, data)

    def let_expire(self, store: BaseStore, clock: FakeClock, seconds: float) -> None:
        break_all(self.client)
        clock.advance(seconds)

    def test_takeover_waits_for_the_takeover_allowance(
        self, make_store: StoreFactory, clock: FakeClock
    ) -> None:
        """Replaces the suite's skew test: Azure's expiry is the server's, so the contenders'
        wall clocks (and the takeover allowance) play no part. Pinned instead: a lease the server
        still holds is refused however far the contender's clock has run, and a lease the
        server freed is taken at once, whatever the allowance."""
        store = make_store(clock=clock, takeover_allowance=self.skew)
        first = store.acquire("job", A, self.ttl)
        clock.advance(3600)  # the contender's clock says the lease expired an hour ago
        with pytest.raises(LeaseHeld) as caught:
            store.acquire("job", B, self.ttl)
        assert caught.value.record is not None and caught.value.record.holder == A
        break_all(self.client)  # the server frees it: no allowance is waited for
        taken = store.acquire("job", B, self.ttl)
        assert taken.holder == B and taken.token > first.token

    def test_renew_extends_the_lease_and_keeps_the_token(
        self, store: BaseStore, clock: FakeClock
    ) -> None:
        """Replaces the suite's renew test: a renewal is one request (the blob lease's renew)
        and writes no record, so the stored ``renewed_at`` stays the acquisition's. Pinned: the
        granted Lease is extended (expiry, deadline, same token), the server keeps the lease
        past the first ttl, and ``get`` reports the server's bound, now + 15 s."""
        lease = store.acquire("job", A, self.ttl)
        clock.advance(self.ttl / 3)
        renewed = store.renew(lease)
        assert renewed.token == lease.token
        assert renewed.expires_at == lease.expires_at + round(self.ttl / 3 * 1000)
        assert renewed.deadline == pytest.approx(lease.deadline + self.ttl / 3)
        record = store.get("job")
        assert record is not None
        assert (record.holder, record.token) == (A, lease.token)
        assert record.expires_at == renewed.expires_at == clock.wall_ms() + 15_000
        assert record.renewed_at == lease.record.renewed_at
        with pytest.raises(LeaseHeld):
            store.acquire("job", B, self.ttl)
