"""The async side of the DynamoDB store (aiobotocore) on moto: opened from the same URL, held
with ``async with hold()``, one request per operation; bad input refused before any request.
The store contract itself is the conformance suite (test_conformance.py, ``side`` async)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from cloudlease import ConfigError, hold, open_async_store, open_store
from tests.dynamodb.conftest import REGION


def test_the_same_url_opens_the_async_side_and_holds_on_the_loop(
    moto_endpoint: str, http_table: str
) -> None:
    from cloudlease_dynamodb.aio import AsyncDynamoDBStore

    url = f"dynamodb://{http_table}?region={REGION}&endpoint_url={moto_endpoint}"
    calls: list[str] = []

    async def main() -> Any:
        async with open_async_store(url) as store:
            assert isinstance(store, AsyncDynamoDBStore) and store.url == url
            client = await store.client()
            client.meta.events.register(
                "before-call.dynamodb", lambda model, **_: calls.append(model.name)
            )
            async with hold(store, "job", ttl=3, holder="a") as held:
                assert open_store(url).get("job") == held.lease.record  # both sides agree
                await held.renew()
            return await store.get("job")

    record = asyncio.run(main())
    assert record is not None and record.holder == ""
    assert calls == ["UpdateItem", "UpdateItem", "UpdateItem", "GetItem"]  # acquire, renew, release


def test_no_region_is_refused_before_any_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    with pytest.raises(ConfigError, match=r"no AWS region: add \?region="):
        open_async_store("dynamodb://leases")
