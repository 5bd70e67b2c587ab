"""``DynamoDBStore``: one conditional UpdateItem per lease operation.

A free or refused acquire costs one request: the takeover update either applies or fails its
condition and returns the current item (ReturnValuesOnConditionCheckFailure=ALL_OLD), so a
contender learns the holder without a second read. Re-entry (the item already names this
holder: a lost response, a restart with the same holder id) costs a second, conditional update
that keeps ``transitions`` and ``acquired_at``: one update expression cannot branch.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cloudlease import records as rules
from cloudlease._validation import Duration, to_seconds
from cloudlease.clock import Clock
from cloudlease.errors import ConfigError, CorruptRecord, LeaseLost, StoreUnavailable
from cloudlease.lease import Fence, Lease, LeaseRecord
from cloudlease.records import SCHEMA, AcquireRequest
from cloudlease.skew import HttpDateProbe, measures_host_clock
from cloudlease.store import BaseStore, Capabilities
from cloudlease_dynamodb import codec, fencing
from cloudlease_dynamodb.client import credential_chain, credential_source, make_client
from cloudlease_dynamodb.errors import Translator, error_code, is_throttling
from cloudlease_dynamodb.expressions import Requests
from cloudlease_dynamodb.schema import DEFAULT_PURGE_AFTER, AttributeNames, check_table_name

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_FIRST_BACKOFF = 0.05  # seconds; doubles per throttled attempt
_MAX_BACKOFF = 1.0
_ACQUIRE_ROUNDS = 3  # takeover/re-entry rounds before giving up on a lease changing hands


class DynamoDBStore(BaseStore):
    """Lease records as items of one DynamoDB table (partition key: the lease name).

    Pass ``client`` (a boto3 DynamoDB client), or ``session`` / ``profile``, ``region``,
    ``endpoint_url`` and a botocore ``config`` to build one; a built client never retries on
    its own. ``attributes`` renames the item's attributes; ``purge_after`` is how long past
    expiry the TTL attribute lets DynamoDB delete an untouched record; ``throttle_budget``
    bounds how long throttled requests are retried (also capped by the lease's ttl).
    """

    capabilities = Capabilities(
        round_trips={"acquire": 1, "renew": 1, "release": 1, "get": 1, "reentry": 2}
    )

    def __init__(
        self,
        table: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        client: DynamoDBClient | None = None,
        session: boto3.Session | None = None,
        config: Config | None = None,
        attributes: AttributeNames | None = None,
        purge_after: Duration = DEFAULT_PURGE_AFTER,
        throttle_budget: Duration = 5.0,
        clock: Clock | None = None,
        skew_allowance: Duration = 1.0,
        safety_margin: Duration | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(clock=clock, skew_allowance=skew_allowance, safety_margin=safety_margin)
        self.table = check_table_name(table, store=f"dynamodb://{table}")
        self.profile = profile
        self._endpoint_url = endpoint_url
        self._region = region
        if client is None:
            client = make_client(
                region=region,
                endpoint_url=endpoint_url,
                profile=profile,
                session=session,
                config=config,
                store=self.url,
            )
        self.client: DynamoDBClient = client
        if measures_host_clock(self.clock):  # each reply's Date header bounds our clock offset
            probe = HttpDateProbe(self.clock, self.clock_offset)
            client.meta.events.register("before-send.dynamodb", probe.sent)
            client.meta.events.register(
                "response-received.dynamodb",
                lambda response_dict=None, **_: probe.received(
                    (response_dict or {}).get("headers", {}).get("Date")
                ),
            )
        self._region = client.meta.region_name or region
        self._endpoint_url = endpoint_url or (
            None if _is_aws(client.meta.endpoint_url) else client.meta.endpoint_url
        )
        self._session = session
        self.attributes = attributes if attributes is not None else AttributeNames()
        self.purge_after = to_seconds(purge_after, what="purge_after", store=self.url)
        if self.purge_after < 3 * self.skew_allowance:  # docs/tokens.md: the deletion contract
            raise ConfigError(
                f"purge_after={self.purge_after:g}s is shorter than 3 x the skew allowance "
                f"({self.skew_allowance:g}s): a record deleted that early could be re-created "
                "with a smaller fencing token; keep the default (7 days) or raise it",
                store=self.url,
            )
        self.throttle_budget = to_seconds(
            throttle_budget, what="throttle_budget", store=self.url, allow_zero=True
        )
        self.requests = Requests(self.table, self.attributes, round(self.purge_after * 1000))
        self._translate = Translator(
            table=self.table,
            region=self._region or "?",
            url=self.url,
            credential_chain=lambda: credential_chain(self._session or boto3.Session()),
            credential_source=lambda: credential_source(self.client),
        )
        self._rng = rng or random.Random()
        self._never = threading.Event()

    @property
    def region(self) -> str | None:
        return self._region

    @property
    def url(self) -> str:
        query: dict[str, str] = {}
        if self._region:
            query["region"] = self._region
        if self._endpoint_url:
            query["endpoint_url"] = self._endpoint_url
        if self.profile:
            query["profile"] = self.profile
        names = getattr(self, "attributes", None)
        if names is not None and names.key != AttributeNames.key:
            query["partition_key"] = names.key
        if names is not None and names.ttl != AttributeNames.ttl:
            query["ttl_attribute"] = names.ttl
        suffix = f"?{urlencode(query, safe=':/')}" if query else ""
        return f"dynamodb://{self.table}{suffix}"

    # -- requests ---------------------------------------------------------------------------

    def call(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        lease: str | None,
        write: bool,
        budget: float | None = None,
    ) -> dict[str, Any]:
        """One API call; throttling retried with jittered backoff on the store's clock.

        ConditionalCheckFailedException (and TransactionCanceledException) pass through as
        ClientError; every other failure becomes a cloudlease error naming table and region.
        """
        method = getattr(self.client, operation)
        give_up = self.clock.monotonic() + (self.throttle_budget if budget is None else budget)
        delay = _FIRST_BACKOFF
        while True:
            try:
                response: dict[str, Any] = method(**params)
                return response
            except ClientError as exc:
                if error_code(exc) in (
                    "ConditionalCheckFailedException",
                    "TransactionCanceledException",
                ):
                    raise
                if is_throttling(exc):
                    pause = self._rng.uniform(delay / 2, delay)
                    if self.clock.monotonic() + pause <= give_up:
                        self.clock.wait(self._never, pause)
                        delay = min(delay * 2, _MAX_BACKOFF)
                        continue
                raise self._translate(exc, lease=lease, write=write) from exc
            except BotoCoreError as exc:
                raise self._translate(exc, lease=lease, write=write) from exc

    def _update(
        self, params: Mapping[str, Any], lease: str, budget: float
    ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(attributes, None) when the condition held, (None, old item or None) when not."""
        try:
            response = self.call("update_item", params, lease=lease, write=True, budget=budget)
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise self._translate(exc, lease=lease, write=True) from exc
            return None, exc.response.get("Item")  # type: ignore[return-value]
        return response.get("Attributes", {}), None

    def decode(self, item: Mapping[str, Any]) -> LeaseRecord:
        return codec.decode(item, self.attributes, table=self.table, store=self.url)

    # -- primitives -------------------------------------------------------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        budget = min(self.throttle_budget, request.ttl_ms / 2000)
        for _ in range(_ACQUIRE_ROUNDS):
            new, old = self._update(self.requests.takeover(request), request.name, budget)
            if new is not None:
                return self.decode(new), None
            current = None if old is None else self.decode(old)
            if current is not None and self._lifts(current):
                lifted = self._lift(request, current, budget)
                if lifted is not None:
                    return lifted, None
                continue  # changed since we read it: decide again
            if current is not None and current.holder != request.holder:
                raise self._held(request, current)
            if current is None:
                continue  # gone between our condition and now: take it over afresh
            new, old = self._update(self.requests.reentry(request), request.name, budget)
            if new is not None:
                return self.decode(new), None
            current = None if old is None else self.decode(old)
            if current is not None and not current.is_free(request.now_ms, request.skew_ms):
                raise self._held(request, current)
        raise StoreUnavailable(
            f"the lease changed hands {_ACQUIRE_ROUNDS} times during one acquire; retry",
            lease=request.name,
            store=self.url,
        )

    def _lifts(self, current: LeaseRecord) -> bool:
        """True when ``current`` is of another schema than the one this client writes."""
        return current.schema != SCHEMA

    def _lift(
        self, request: AcquireRequest, current: LeaseRecord, budget: float
    ) -> LeaseRecord | None:
        """Acquire an item of another schema as the read-first stores do (expressions.LIFT)."""
        if current.schema > SCHEMA:
            raise CorruptRecord(
                f"the item was written by a newer cloudlease (record schema {current.schema}, "
                f"this one writes {SCHEMA}); upgrade cloudlease-dynamodb on this client",
                lease=request.name,
                store=self.url,
            )
        if not rules.can_acquire(current, request):
            raise self._held(request, current)
        lifted = rules.acquired(current, request)
        new, _ = self._update(self.requests.lift(request, current, lifted), request.name, budget)
        return None if new is None else self.decode(new)

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        budget = min(self.throttle_budget, max(lease.remaining(), 0.0))
        params = self.requests.renew(lease.name, lease.holder, lease.token, now_ms, ttl_ms)
        new, old = self._update(params, lease.name, budget)
        if new is None:
            raise self._lost_to(lease, old)
        return self.decode(new), None

    def _release(self, lease: Lease, now_ms: int) -> bool:
        params = self.requests.release(lease.name, lease.holder, lease.token, now_ms)
        new, _ = self._update(params, lease.name, self.throttle_budget)
        return new is not None

    def _get(self, name: str) -> LeaseRecord | None:
        params = {
            "TableName": self.table,
            "Key": self.requests.key(name),
            "ConsistentRead": True,
        }
        item = self.call("get_item", params, lease=name, write=False).get("Item")
        return None if item is None else self.decode(item)

    def _list(self) -> list[LeaseRecord]:
        found: list[LeaseRecord] = []
        params: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = self.call("scan", params, lease=None, write=False)
            found.extend(self.decode(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        new, old = self._update(
            self.requests.force_release(name, now_ms), name, self.throttle_budget
        )
        if new is not None:
            return self.decode(new)  # ALL_OLD: the record as it was
        if old is not None:
            self.decode(old)  # raises CorruptRecord: the item is not ours to clear
        return None

    def delete_record(self, name: str) -> None:
        """Delete the item outright, as a TTL sweep or an operator would (needs DeleteItem)."""
        params = {"TableName": self.table, "Key": self.requests.key(name)}
        self.call("delete_item", params, lease=name, write=True)

    def _lost_to(self, lease: Lease, old: Mapping[str, Any] | None) -> LeaseLost:
        try:
            current = None if old is None else self.decode(old)
        except CorruptRecord as exc:
            return LeaseLost(
                f"token {lease.token} is no longer valid: the item was overwritten by "
                f"something else ({exc.detail})",
                lease=lease.name,
                store=self.url,
            )
        return self._lost(lease, current)

    # -- table and fenced writes ------------------------------------------------------------

    def init(self) -> None:
        """Create the table (on-demand, TTL on) and wait until it is ACTIVE; idempotent."""
        from cloudlease_dynamodb.table import ensure_table

        ensure_table(self)

    def close(self) -> None:
        self.client.close()

    def condition_check(self, lease: Fence) -> TransactWriteItemTypeDef:
        """A TransactWriteItems entry that holds only while ``lease`` is current."""
        return fencing.condition_check(self, lease)

    def fenced_put(
        self, lease: Fence, *, table: str, item: Mapping[str, Any], **condition: Any
    ) -> None:
        """Put ``item`` into ``table`` only while ``lease`` is current (else LeaseLost)."""
        fencing.fenced_put(self, lease, table=table, item=item, **condition)

    def fenced_update(
        self,
        lease: Fence,
        *,
        table: str,
        key: Mapping[str, Any],
        update_expression: str,
        **condition: Any,
    ) -> None:
        """Update one item of ``table`` only while ``lease`` is current (else LeaseLost)."""
        fencing.fenced_update(
            self, lease, table=table, key=key, update_expression=update_expression, **condition
        )


def _is_aws(endpoint: str | None) -> bool:
    return endpoint is None or endpoint.rstrip("/").endswith(
        (".amazonaws.com", ".amazonaws.com.cn")
    )
