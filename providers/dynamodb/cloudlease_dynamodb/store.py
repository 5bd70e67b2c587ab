"""``DynamoDBStore``: one conditional write per lease operation.

A free or refused acquire costs one request: the takeover update either applies or fails its
condition and returns the current item (ReturnValuesOnConditionCheckFailure=ALL_OLD), so a
contender learns the holder without a second read. Re-entry (the item already names this
holder: a lost response, a restart with the same holder id) costs a second, conditional update
that keeps ``transitions`` and ``acquired_at``: one update expression cannot branch.

Once the store has seen a lease's item (every reply carries it), it acquires with a PutItem of
the whole record instead, decided from what it saw and conditioned on the token it saw
(``expressions.REPLACE_*``): one request for a takeover and for a re-entry, and no update
expression for the server to evaluate. Without ``dynamodb:PutItem`` it keeps to UpdateItem.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from cloudlease import records as rules
from cloudlease._flows import Call, Flow, Pause, Step, run
from cloudlease._remembered import Remembered
from cloudlease._validation import Duration, to_seconds
from cloudlease.clock import Clock
from cloudlease.errors import ConfigError, CorruptRecord, LeaseLost, StoreUnavailable
from cloudlease.lease import Fence, Lease, LeaseRecord
from cloudlease.records import SCHEMA, AcquireRequest
from cloudlease.skew import ClockOffset, HttpDateProbe, measures_host_clock
from cloudlease.store import BaseStore, Capabilities, StoreCore
from cloudlease_dynamodb import codec, fencing
from cloudlease_dynamodb.client import credential_chain, credential_source, make_client
from cloudlease_dynamodb.errors import Translator, error_code, is_throttling
from cloudlease_dynamodb.expressions import Requests
from cloudlease_dynamodb.schema import (
    DEFAULT_PARTITION_KEY,
    DEFAULT_PURGE_AFTER,
    DEFAULT_TTL_ATTRIBUTE,
    AttributeNames,
    check_table_name,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef
    from typing_extensions import Unpack

_FIRST_BACKOFF = 0.05  # seconds; doubles per throttled attempt
_MAX_BACKOFF = 1.0
_ACQUIRE_ROUNDS = 3  # takeover/re-entry rounds before giving up on a lease changing hands
log = logging.getLogger("cloudlease.dynamodb")


class TableOptions(TypedDict, total=False):
    """The options both sides of the DynamoDB store take (``DynamoDBStore`` says what each
    means): ``region``, ``endpoint_url``, ``profile``, ``attributes``, ``purge_after``,
    ``throttle_budget``, ``clock``, ``takeover_allowance``, ``clock_skew_bound``,
    ``safety_margin``, ``rng``."""

    region: str | None
    endpoint_url: str | None
    profile: str | None
    attributes: AttributeNames | None
    purge_after: Duration
    throttle_budget: Duration
    clock: Clock | None
    takeover_allowance: Duration | None
    clock_skew_bound: Duration
    safety_margin: Duration | None
    rng: random.Random | None


class DynamoDBCore(StoreCore):
    """What both sides of the DynamoDB store share: settings, the URL, and every operation as
    a flow of API calls (``Call(operation, (params,))``) and throttling pauses, so that the
    sync store (boto3) and the async one (aiobotocore, ``cloudlease_dynamodb.aio``) build the
    same requests and read the same replies."""

    capabilities = Capabilities(
        # re-entry: one PutItem once the store has seen the item, else two UpdateItems
        round_trips={"acquire": 1, "renew": 1, "release": 1, "get": 1, "reentry": 1}
        | {"reentry_unseen": 2, "steal": 2}
    )

    def _begin(self, table: str, options: TableOptions) -> None:
        """Check the settings known before the client is (the table, clock and allowances)."""
        StoreCore.__init__(
            self,
            clock=options.get("clock"),
            takeover_allowance=options.get("takeover_allowance"),
            clock_skew_bound=options.get("clock_skew_bound", 1.0),
            safety_margin=options.get("safety_margin"),
        )
        self.table = check_table_name(table, store=f"dynamodb://{table}")
        self.profile = options.get("profile")
        self._region = options.get("region")
        self._endpoint_url = options.get("endpoint_url")

    def _settle(
        self,
        options: TableOptions,
        *,
        region: str | None,
        endpoint_url: str | None,
        session: Any,
        credential_source: Callable[[], str],
    ) -> None:
        """Check and keep the other settings, once the client says where it points."""
        self._region = region
        self._endpoint_url = endpoint_url
        self._session = session
        attributes = options.get("attributes")
        self.attributes = attributes if attributes is not None else AttributeNames()
        purge_after = options.get("purge_after", DEFAULT_PURGE_AFTER)
        self.purge_after = to_seconds(purge_after, what="purge_after", store=self.url)
        if self.purge_after < 3 * self.clock_skew_bound:  # docs/tokens.md: the deletion contract
            raise ConfigError(
                f"purge_after={self.purge_after:g}s is shorter than 3 x the clock-skew bound "
                f"({self.clock_skew_bound:g}s): a record deleted that early could be re-created "
                "with a smaller fencing token; keep the default (7 days) or raise it",
                store=self.url,
            )
        self.throttle_budget = to_seconds(
            options.get("throttle_budget", 5.0),
            what="throttle_budget",
            store=self.url,
            allow_zero=True,
        )
        self.requests = Requests(self.table, self.attributes, round(self.purge_after * 1000))
        self._translate = Translator(
            table=self.table,
            region=self._region or "?",
            url=self.url,
            credential_chain=lambda: credential_chain(self._session or boto3.Session()),
            credential_source=credential_source,
        )
        self._rng = options.get("rng") or random.Random()
        self._seen: Remembered[LeaseRecord] = Remembered()  # the item of each lease, as last seen
        self._puts = True  # False once PutItem was denied (an IAM policy from before it)
        self._url = self._describe()  # the settings are final from here on

    @property
    def region(self) -> str | None:
        return self._region

    @property
    def url(self) -> str:
        """``dynamodb://TABLE?...``: worked out once the settings are final (``_settle``), as
        every error and every LeaseHeld names it."""
        known: str | None = getattr(self, "_url", None)
        return known if known is not None else self._describe()

    def _describe(self) -> str:
        query: dict[str, str] = {}
        if getattr(self, "_region", None):
            query["region"] = self._region  # type: ignore[assignment]
        if getattr(self, "_endpoint_url", None):
            query["endpoint_url"] = self._endpoint_url  # type: ignore[assignment]
        if getattr(self, "profile", None):
            query["profile"] = self.profile  # type: ignore[assignment]
        names = getattr(self, "attributes", None)
        if names is not None and names.key != DEFAULT_PARTITION_KEY:
            query["partition_key"] = names.key
        if names is not None and names.ttl != DEFAULT_TTL_ATTRIBUTE:
            query["ttl_attribute"] = names.ttl
        suffix = f"?{urlencode(query, safe=':/')}" if query else ""
        return f"dynamodb://{self.table}{suffix}"

    # -- requests ---------------------------------------------------------------------------

    def _call(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        lease: str | None,
        write: bool,
        budget: float | None = None,
        passing: frozenset[str] = frozenset(),
    ) -> Flow[dict[str, Any]]:
        """One API call; throttling retried with jittered backoff on the store's clock.

        ConditionalCheckFailedException, TransactionCanceledException and the codes in
        ``passing`` pass through as ClientError; every other failure becomes a cloudlease error
        naming table and region.
        """
        give_up = self.clock.monotonic() + (self.throttle_budget if budget is None else budget)
        delay = _FIRST_BACKOFF
        while True:
            try:
                response: dict[str, Any] = yield Call(operation, (params,))
                return response
            except ClientError as exc:
                if (
                    error_code(exc)
                    in ("ConditionalCheckFailedException", "TransactionCanceledException")
                    or error_code(exc) in passing
                ):
                    raise
                if is_throttling(exc):
                    pause = self._rng.uniform(delay / 2, delay)
                    if self.clock.monotonic() + pause <= give_up:
                        yield Pause(pause)
                        delay = min(delay * 2, _MAX_BACKOFF)
                        continue
                raise self._translate(exc, lease=lease, write=write) from exc
            except BotoCoreError as exc:
                raise self._translate(exc, lease=lease, write=write) from exc

    def _update(
        self, params: Mapping[str, Any], lease: str, budget: float
    ) -> Flow[tuple[dict[str, Any] | None, dict[str, Any] | None]]:
        """(attributes, None) when the condition held, (None, old item or None) when not."""
        try:
            response = yield from self._call(
                "update_item", params, lease=lease, write=True, budget=budget
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise self._translate(exc, lease=lease, write=True) from exc
            return None, exc.response.get("Item")  # type: ignore[return-value]
        return response.get("Attributes", {}), None

    def decode(self, item: Mapping[str, Any]) -> LeaseRecord:
        """The record ``item`` holds, remembered as the lease's item last seen."""
        return self._saw(codec.decode(item, self.attributes, table=self.table, store=self.url))

    def _saw(self, record: LeaseRecord) -> LeaseRecord:
        self._seen.put(record.name, record)
        return record

    # -- primitives, as flows of API calls --------------------------------------------------

    def _acquire_calls(self, request: AcquireRequest) -> Flow[tuple[LeaseRecord, Any]]:
        budget = min(self.throttle_budget, request.ttl_ms / 2000)
        if request.steals is not None:
            new, _ = yield from self._update(
                self.requests.steal(request, *request.steals), request.name, budget
            )
            if new is not None:
                return self.decode(new), None
            # changed since the stealer read it (or of another schema): decide as an acquire
        seen = self._seen.get(request.name)
        if seen is not None and seen.schema == SCHEMA and self._puts:
            replaced = yield from self._replace(request, seen, budget)
            if replaced is not None:
                return replaced, None
        for _ in range(_ACQUIRE_ROUNDS):
            new, old = yield from self._update(
                self.requests.takeover(request), request.name, budget
            )
            if new is not None:
                return self.decode(new), None
            current = None if old is None else self.decode(old)
            if current is not None and self._lifts(current):
                lifted = yield from self._lift(request, current, budget)
                if lifted is not None:
                    return lifted, None
                continue  # changed since we read it: decide again
            if current is not None and current.holder != request.holder:
                raise self._held(request, current)
            if current is None:
                continue  # gone between our condition and now: take it over afresh
            new, old = yield from self._update(self.requests.reentry(request), request.name, budget)
            if new is not None:
                return self.decode(new), None
            current = None if old is None else self.decode(old)
            if current is not None and not current.is_free(request.now_ms, request.allowance_ms):
                raise self._held(request, current)
        raise StoreUnavailable(
            f"the lease changed hands {_ACQUIRE_ROUNDS} times during one acquire; retry",
            lease=request.name,
            store=self.url,
        )

    def _replace(
        self, request: AcquireRequest, seen: LeaseRecord, budget: float
    ) -> Flow[LeaseRecord | None]:
        """Acquire with one PutItem decided from ``seen`` (expressions.REPLACE_*).

        LeaseHeld when the item is held by someone else; None when it changed otherwise since
        it was seen (or PutItem is denied): then the UpdateItem rounds decide afresh.
        """
        to = rules.acquired(seen, request)
        params = self.requests.replace(request, seen, to)
        denied = frozenset({"AccessDeniedException"})
        try:
            yield from self._call(
                "put_item", params, lease=request.name, write=True, budget=budget, passing=denied
            )
        except ClientError as exc:
            if error_code(exc) in denied:
                self._puts = False
                log.warning(
                    "cloudlease: %s may not PutItem (%s); acquiring with UpdateItem only. "
                    "Grant dynamodb:PutItem (IAM_ACTIONS) for one-request re-entries",
                    self.url,
                    exc,
                )
                return None
            old = exc.response.get("Item")
            current = None if old is None else self.decode(old)  # type: ignore[arg-type]
            if (
                current is not None
                and current.holder != request.holder
                and not current.is_free(request.now_ms, request.allowance_ms)
            ):
                raise self._held(request, current) from None
            return None
        return self._saw(to)

    def _lifts(self, current: LeaseRecord) -> bool:
        """True when ``current`` is of another schema than the one this client writes."""
        return current.schema != SCHEMA

    def _lift(
        self, request: AcquireRequest, current: LeaseRecord, budget: float
    ) -> Flow[LeaseRecord | None]:
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
        new, _ = yield from self._update(
            self.requests.lift(request, current, lifted), request.name, budget
        )
        return None if new is None else self.decode(new)

    def _renew_calls(self, lease: Lease, now_ms: int, ttl_ms: int) -> Flow[tuple[LeaseRecord, Any]]:
        budget = min(self.throttle_budget, max(lease.remaining(), 0.0))
        params = self.requests.renew(lease.name, lease.holder, lease.token, now_ms, ttl_ms)
        new, old = yield from self._update(params, lease.name, budget)
        if new is None:
            raise self._lost_to(lease, old)
        return self.decode(new), None

    def _release_calls(self, lease: Lease, now_ms: int) -> Flow[bool]:
        params = self.requests.release(lease.name, lease.holder, lease.token, now_ms)
        new, old = yield from self._update(params, lease.name, self.throttle_budget)
        item = new if new is not None else old
        if item is not None:
            with contextlib.suppress(CorruptRecord):
                self.decode(item)  # remembered: the next acquire can be one PutItem
        return new is not None

    def _get_calls(self, name: str) -> Flow[LeaseRecord | None]:
        params = {
            "TableName": self.table,
            "Key": self.requests.key(name),
            "ConsistentRead": True,
        }
        response = yield from self._call("get_item", params, lease=name, write=False)
        item = response.get("Item")
        return None if item is None else self.decode(item)

    def _list_calls(self) -> Flow[list[LeaseRecord]]:
        found: list[LeaseRecord] = []
        params: dict[str, Any] = {"TableName": self.table, "ConsistentRead": True}
        while True:
            page = yield from self._call("scan", params, lease=None, write=False)
            found.extend(self.decode(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _force_release_calls(self, name: str, now_ms: int) -> Flow[LeaseRecord | None]:
        new, old = yield from self._update(
            self.requests.force_release(name, now_ms), name, self.throttle_budget
        )
        if new is not None:
            return self.decode(new)  # ALL_OLD: the record as it was
        if old is not None:
            self.decode(old)  # raises CorruptRecord: the item is not ours to clear
        return None

    def _delete_calls(self, name: str) -> Flow[None]:
        params = {"TableName": self.table, "Key": self.requests.key(name)}
        yield from self._call("delete_item", params, lease=name, write=True)

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


class DynamoDBStore(DynamoDBCore, BaseStore):
    """Lease records as items of one DynamoDB table (partition key: the lease name).

    Pass ``client`` (a boto3 DynamoDB client), or ``session`` / ``profile``, ``region``,
    ``endpoint_url`` and a botocore ``config`` to build one; a built client never retries on
    its own. ``attributes`` renames the item's attributes; ``purge_after`` is how long past
    expiry the TTL attribute lets DynamoDB delete an untouched record; ``throttle_budget``
    bounds how long throttled requests are retried (also capped by the lease's ttl). Its async
    side is ``cloudlease_dynamodb.aio.AsyncDynamoDBStore`` (``open_async_store``).
    """

    def __init__(
        self,
        table: str,
        *,
        client: DynamoDBClient | None = None,
        session: boto3.Session | None = None,
        config: Config | None = None,
        **options: Unpack[TableOptions],
    ) -> None:
        self._begin(table, options)
        if client is None:
            client = make_client(
                region=self._region,
                endpoint_url=self._endpoint_url,
                profile=self.profile,
                session=session,
                config=config,
                store=self.url,
            )
        self.client: DynamoDBClient = client
        watch_clock(client, self.clock, self.clock_offset)
        self._settle(
            options,
            region=client.meta.region_name or self._region,
            endpoint_url=self._endpoint_url
            or (None if _is_aws(client.meta.endpoint_url) else client.meta.endpoint_url),
            session=session,
            credential_source=lambda: credential_source(self.client),
        )
        self._never = threading.Event()

    # -- requests on this thread ------------------------------------------------------------

    def _api(self, step: Step) -> Any:
        if isinstance(step, Pause):
            self.clock.wait(self._never, step.seconds)
            return None
        return getattr(self.client, step.method)(**step.args[0])

    def call(self, operation: str, params: Mapping[str, Any], **where: Any) -> dict[str, Any]:
        """One API call, throttling retried (``DynamoDBCore._call``): for the table helpers."""
        return run(self._call(operation, params, **where), self._api)

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        return run(self._acquire_calls(request), self._api)

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        return run(self._renew_calls(lease, now_ms, ttl_ms), self._api)

    def _release(self, lease: Lease, now_ms: int) -> bool:
        return run(self._release_calls(lease, now_ms), self._api)

    def _get(self, name: str) -> LeaseRecord | None:
        return run(self._get_calls(name), self._api)

    def _list(self) -> list[LeaseRecord]:
        return run(self._list_calls(), self._api)

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        return run(self._force_release_calls(name, now_ms), self._api)

    def delete_record(self, name: str) -> None:
        """Delete the item outright, as a TTL sweep or an operator would (needs DeleteItem)."""
        run(self._delete_calls(name), self._api)

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


def watch_clock(client: Any, clock: Clock, offset: ClockOffset) -> None:
    """On the system clock, let each reply's Date header bound this host's clock offset."""
    if not measures_host_clock(clock):
        return
    probe = HttpDateProbe(clock, offset)
    client.meta.events.register("before-send.dynamodb", probe.sent)
    client.meta.events.register(
        "response-received.dynamodb",
        lambda response_dict=None, **_: probe.received(
            (response_dict or {}).get("headers", {}).get("Date")
        ),
    )


def _is_aws(endpoint: str | None) -> bool:
    return endpoint is None or endpoint.rstrip("/").endswith(
        (".amazonaws.com", ".amazonaws.com.cn")
    )
