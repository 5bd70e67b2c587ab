"""The async side of the Azure Blob store (``azure.storage.blob.aio``) on Azurite: opened from
the same URL, held with ``async with hold()``, the same requests as the sync side, a lease held
on one side refused on the other. The store contract itself is the conformance suite
(test_conformance.py, ``side`` async)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cloudlease import ConfigError, LeaseHeld, hold, open_async_store, open_store
from tests.azure_blob.azurite import Azurite, operation


def test_the_same_url_opens_the_async_side_and_holds_on_the_loop(
    azurite: Azurite, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cloudlease_azure_blob.aio import AsyncAzureBlobStore

    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    url = azurite.url(container)
    sync = open_store(url)
    calls: list[str] = []
    hooks = {"raw_request_hook": lambda request: calls.append(operation(request.http_request))}

    async def main() -> Any:
        async with open_async_store(url, client_options=hooks) as store:
            assert isinstance(store, AsyncAzureBlobStore) and store.url == url
            async with hold(store, "job", ttl=15, holder="a") as held:
                seen = sync.get("job"), await store.get("job")  # both sides agree
                assert {(record.holder, record.token) for record in seen if record} == {
                    ("a", held.lease.token)
                }
                with pytest.raises(LeaseHeld):
                    sync.acquire("job", "b", 15)  # held on the loop: refused on the thread
                await held.renew()
                await store.write_lease_blob(held.lease, b"under the lease")
                assert await store.read_lease_blob("job") == b"under the lease"
            return await store.get("job")

    record = asyncio.run(main())
    assert record is not None and record.holder == ""
    assert calls == [
        *("get_properties", "put_blob", "lease:acquire", "put:metadata"),  # first acquire
        "get_properties",  # the first get
        "lease:renew",
        *("put_blob", "download"),  # the lease blob's content
        *("put:metadata", "lease:release"),  # release
        "get_properties",
    ]
    taken = sync.acquire("job", "b", 15)  # released on the loop: free on the thread
    assert taken.token > 0
    sync.close()


def test_a_bad_url_is_refused_before_any_request() -> None:
    with pytest.raises(ConfigError, match=r"azblob://ACCOUNT/CONTAINER"):
        open_async_store("azblob://x/leases")
