"""The async side of the Firestore store (``firestore.AsyncClient``) on the emulator: opened
from the same URL, held with ``async with hold()``. Bad URLs are refused on both sides in
test_errors.py; the store contract is the conformance suite (test_conformance.py, ``side``
async), and the requests per operation are counted on both sides in test_store.py."""

from __future__ import annotations

import asyncio
from typing import Any

from cloudlease import hold, open_async_store, open_store
from tests.firestore.conftest import Emulator


def test_the_same_url_opens_the_async_side_and_holds_on_the_loop(
    emulator: Emulator, collection: str
) -> None:
    from cloudlease_firestore.aio import AsyncFirestoreStore

    url = f"firestore://{emulator.project}/{collection}"
    sync = open_store(url)

    async def main() -> Any:
        async with open_async_store(url) as store:
            assert isinstance(store, AsyncFirestoreStore) and store.url == url
            await store.init()
            async with hold(store, "job", ttl=3, holder="a") as held:
                assert sync.get("job") == held.lease.record  # both sides agree
                await held.renew()
                assert sync.get("job") == held.lease.record
            return await store.get("job")

    try:
        record = asyncio.run(main())
    finally:
        sync.close()
    assert record is not None and record.holder == "" and record.token >= 1
