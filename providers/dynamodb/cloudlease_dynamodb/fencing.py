"""Fenced writes: the user's own write applies only while the lease is still theirs.

DynamoDB checks the lease item (holder and token) and applies the write in one
``TransactWriteItems``, so a holder that was paused past its lease and taken over cannot write:
its write fails with LeaseLost. Use ``condition_check`` inside your own transaction, or
``fenced_put`` / ``fenced_update`` for one item. Items and keys are in low-level form
(``{"id": {"S": "x"}}``; ``boto3.dynamodb.types.TypeSerializer`` converts plain values).
The written item must not be the lease item itself (one transaction touches an item once).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cloudlease.errors import CloudLeaseError, CorruptRecord, LeaseLost, StoreUnavailable
from cloudlease.lease import Fence
from cloudlease_dynamodb.codec import n, s
from cloudlease_dynamodb.errors import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

    from cloudlease_dynamodb._access import TableAccess

_RETRIED_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}
)


class FencedWriteRefused(CloudLeaseError):
    """The lease is still ours, but the write's own condition failed (nothing was written)."""


def condition_check(store: TableAccess, lease: Fence) -> TransactWriteItemTypeDef:
    """A ``TransactItems`` entry: a ConditionCheck that the lease item names this grant."""
    names = store.attributes
    return {
        "ConditionCheck": {
            "TableName": store.table,
            "Key": store.requests.key(lease.name),
            "ConditionExpression": "#holder = :holder AND #token = :token",
            "ExpressionAttributeNames": {"#holder": names.holder, "#token": names.token},
            "ExpressionAttributeValues": {":holder": s(lease.holder), ":token": n(lease.token)},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
    }


def fenced_put(
    store: TableAccess,
    lease: Fence,
    *,
    table: str,
    item: Mapping[str, Any],
    **condition: Any,
) -> None:
    """Put ``item`` into ``table`` while ``lease`` is current.

    ``condition`` may hold the write's own ``ConditionExpression``,
    ``ExpressionAttributeNames`` and ``ExpressionAttributeValues``.
    """
    write = {"Put": {"TableName": table, "Item": dict(item), **condition}}
    transact(store, lease, [write])


def fenced_update(
    store: TableAccess,
    lease: Fence,
    *,
    table: str,
    key: Mapping[str, Any],
    update_expression: str,
    **condition: Any,
) -> None:
    """Apply ``update_expression`` to the item ``key`` of ``table`` while ``lease`` is current."""
    write = {
        "Update": {
            "TableName": table,
            "Key": dict(key),
            "UpdateExpression": update_expression,
            **condition,
        }
    }
    transact(store, lease, [write])


def transact(store: TableAccess, lease: Fence, writes: list[dict[str, Any]]) -> None:
    """Run ``writes`` in one transaction with the lease's ConditionCheck first.

    Raises LeaseLost when the lease item no longer names this grant, FencedWriteRefused when
    a write's own condition failed, StoreUnavailable(ambiguous=True) when the outcome is unknown.
    """
    items: list[Any] = (
        [_only_if_new(store, write) for write in writes]  # token 0: an unguarded local run
        if lease.token == 0
        else [condition_check(store, lease), *writes]
    )
    params = {"TransactItems": items}
    for attempt in range(5):
        if attempt:
            store.clock.wait(threading.Event(), 0.02 * 2**attempt)  # conflicting transaction
        try:
            store.call("transact_write_items", params, lease=lease.name, write=True)
            return
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = exc.response.get("CancellationReasons") or []
            codes = [str(reason.get("Code", "None")) for reason in reasons]
            if lease.token == 0 and "ConditionalCheckFailed" in codes:
                raise LeaseLost(
                    "an unguarded run (fencing token 0, CLOUDLEASE_DISABLED=1) writes only "
                    "items that do not exist yet, and this one exists; nothing was written",
                    lease=lease.name,
                    store=store.url,
                ) from None
            if codes and codes[0] == "ConditionalCheckFailed":
                raise _stale(store, lease, reasons[0].get("Item")) from None
            if any(code == "ConditionalCheckFailed" for code in codes[1:]):
                raise FencedWriteRefused(
                    f"the fenced write's own condition failed ({', '.join(codes)}); the lease "
                    f"(token {lease.token}) is still held, nothing was written",
                    lease=lease.name,
                    store=store.url,
                ) from exc
            if not set(codes) - {"None"} <= _RETRIED_REASONS:
                raise StoreUnavailable(
                    f"the fenced write was cancelled ({', '.join(codes)}); nothing was written, "
                    "fix the request or retry",
                    lease=lease.name,
                    store=store.url,
                ) from exc
    raise StoreUnavailable(
        "the fenced write kept conflicting with other transactions; nothing was written, retry",
        lease=lease.name,
        store=store.url,
    )


def _only_if_new(store: TableAccess, write: dict[str, Any]) -> dict[str, Any]:
    """``write`` (a Put or Update) made conditional on its item not existing yet: what token 0
    (an unguarded local run) may do, so it never overwrites what a real holder wrote."""
    (kind, body), *_ = write.items()
    table = str(body["TableName"])
    hash_key = _hash_key(store, table)
    body = dict(body)
    names = dict(body.get("ExpressionAttributeNames") or {})
    names["#cloudlease_key"] = hash_key
    own = body.get("ConditionExpression")
    new = "attribute_not_exists(#cloudlease_key)"
    body["ConditionExpression"] = f"({own}) AND {new}" if own else new
    body["ExpressionAttributeNames"] = names
    return {kind: body}


def _hash_key(store: TableAccess, table: str) -> str:
    """The partition key of ``table`` (one DescribeTable, remembered; unguarded runs only)."""
    known = _HASH_KEYS.get(table)
    if known is None:
        description = store.call("describe_table", {"TableName": table}, lease=None, write=False)
        schema = description["Table"]["KeySchema"]
        known = _HASH_KEYS[table] = next(
            k["AttributeName"] for k in schema if k["KeyType"] == "HASH"
        )
    return known


_HASH_KEYS: dict[str, str] = {}


def _stale(store: TableAccess, lease: Fence, item: Mapping[str, Any] | None) -> LeaseLost:
    try:
        current = None if item is None else store.decode(item)
    except CorruptRecord:
        current = None
    now = (
        "the record is gone"
        if current is None
        else "the lease was released"
        if current.holder == ""
        else f"now held by {current.holder!r} with token {current.token}"
    )
    return LeaseLost(
        f"fenced write refused: token {lease.token} is no longer valid ({now}); nothing was "
        "written. Stop acting and acquire again",
        lease=lease.name,
        store=store.url,
    )
