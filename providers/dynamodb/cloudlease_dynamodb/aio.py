"""``AsyncDynamoDBStore``: the async side of the DynamoDB store, through aiobotocore.

The requests, replies, conditions, throttling backoff and error translation are the sync
store's (``DynamoDBCore``'s flows); only the transport differs: each call is awaited on an
aiobotocore client, made on first use and closed by ``await store.close()`` (or ``async with
store``). Install ``cloudlease-dynamodb[async]``; open it with
``open_async_store("dynamodb://TABLE?region=...")``.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any, cast

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.config import Config
from botocore.exceptions import ProfileNotFound

from cloudlease._flows import Pause, Step, run_async
from cloudlease.async_store import AsyncBaseStore
from cloudlease.async_tenure import sleep
from cloudlease.errors import ConfigError
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease_dynamodb.client import DEFAULT_CONFIG, NO_RETRIES, credential_source
from cloudlease_dynamodb.store import DynamoDBCore, DynamoDBStore, TableOptions, watch_clock
from cloudlease_dynamodb.url import parse_url

if TYPE_CHECKING:
    from types_aiobotocore_dynamodb import DynamoDBClient
    from typing_extensions import Unpack


class AsyncDynamoDBStore(DynamoDBCore, AsyncBaseStore):
    """``DynamoDBStore``'s table, records and options, with coroutine methods.

    ``client`` is an aiobotocore DynamoDB client you own (entered already); without it the
    store makes one from ``session`` (an ``AioSession``) or ``profile``, ``region``,
    ``endpoint_url`` and ``config``, with the sync store's timeouts and no retries of its own.
    """

    def __init__(
        self,
        table: str,
        *,
        client: DynamoDBClient | None = None,
        session: AioSession | None = None,
        config: Config | None = None,
        **options: Unpack[TableOptions],
    ) -> None:
        self._begin(table, options)
        try:
            self._aio_session = session or AioSession(profile=self.profile)
            found = self._aio_session.get_config_variable("region")
        except ProfileNotFound as exc:
            raise ConfigError(
                f"AWS profile {self.profile!r} is not configured ({exc}); fix ?profile= or "
                "~/.aws/config",
                store=self.url,
            ) from None
        region = self._region or (client.meta.region_name if client is not None else found)
        if not region:
            raise ConfigError(
                "no AWS region: add ?region=REGION to the URL, or set AWS_REGION / "
                "AWS_DEFAULT_REGION",
                store=self.url,
            )
        # The sync store's timeouts and no retries (AioConfig.merge takes botocore's Config).
        merged = AioConfig()
        for layer in (DEFAULT_CONFIG, config, NO_RETRIES):
            if layer is not None:
                merged = merged.merge(cast("AioConfig", layer))
        self._config = merged
        self._client: Any = client
        self._made = False  # True while the client is one this store made (and closes)
        self._owned = AsyncExitStack()
        self._opening: asyncio.Lock | None = None
        self._settle(
            options,
            region=region,
            endpoint_url=self._endpoint_url,
            session=None,
            credential_source=lambda: credential_source(self._client),
        )

    async def client(self) -> DynamoDBClient:
        """The aiobotocore client (made on first use)."""
        if self._client is None:
            self._opening = self._opening or asyncio.Lock()
            async with self._opening:
                if self._client is None:
                    made = self._aio_session.create_client(
                        "dynamodb",
                        region_name=self._region,
                        endpoint_url=self._endpoint_url,
                        config=self._config,
                    )
                    client = await self._owned.enter_async_context(made)
                    watch_clock(client, self.clock, self.clock_offset)
                    self._client, self._made = client, True
        made_client: DynamoDBClient = self._client
        return made_client

    async def _api(self, step: Step) -> Any:
        if isinstance(step, Pause):
            await sleep(self.clock, step.seconds)
            return None
        client = await self.client()
        return await getattr(client, step.method)(**step.args[0])

    async def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        return await run_async(self._acquire_calls(request), self._api)

    async def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        return await run_async(self._renew_calls(lease, now_ms, ttl_ms), self._api)

    async def _release(self, lease: Lease, now_ms: int) -> bool:
        return await run_async(self._release_calls(lease, now_ms), self._api)

    async def _get(self, name: str) -> LeaseRecord | None:
        return await run_async(self._get_calls(name), self._api)

    async def _list(self) -> list[LeaseRecord]:
        return await run_async(self._list_calls(), self._api)

    async def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        return await run_async(self._force_release_calls(name, now_ms), self._api)

    async def delete_record(self, name: str) -> None:
        await run_async(self._delete_calls(name), self._api)

    async def init(self) -> None:
        """Create the table as the sync store does (``cloudlease init``), on a worker thread."""
        where = TableOptions(
            region=self._region,
            endpoint_url=self._endpoint_url,
            profile=self.profile,
            attributes=self.attributes,
        )
        sync = DynamoDBStore(self.table, **where)
        try:
            await asyncio.to_thread(sync.init)
        finally:
            sync.close()

    async def close(self) -> None:
        """Close the client this store made (a client passed in is yours to close)."""
        if self._made:
            await self._owned.aclose()
            self._owned = AsyncExitStack()
            self._client, self._made = None, False


def from_url(url: str, **options: Any) -> AsyncDynamoDBStore:
    """The async side of ``dynamodb://TABLE?region=&endpoint_url=&profile=...``."""
    table, options = parse_url(url, options)
    return AsyncDynamoDBStore(table, **options)
