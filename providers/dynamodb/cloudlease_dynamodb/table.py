"""``cloudlease init``: create the table (on-demand, TTL on), wait until ACTIVE; idempotent."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from cloudlease.errors import StoreMisconfigured, StoreUnavailable
from cloudlease_dynamodb.errors import error_code

if TYPE_CHECKING:
    from cloudlease_dynamodb._access import TableAccess

log = logging.getLogger("cloudlease")

#: How long ``init`` waits for a new table to become ACTIVE (seconds, on the store's clock).
ACTIVE_TIMEOUT = 300.0
_POLL = 1.0


def ensure_table(store: TableAccess, *, timeout: float = ACTIVE_TIMEOUT) -> None:
    """Create the store's table if missing, wait for ACTIVE, check its key, enable TTL."""
    names = store.attributes
    table = _describe(store)
    if table is None:
        params = {
            "TableName": store.table,
            "KeySchema": [{"AttributeName": names.key, "KeyType": "HASH"}],
            "AttributeDefinitions": [{"AttributeName": names.key, "AttributeType": "S"}],
            "BillingMode": "PAY_PER_REQUEST",
        }
        try:
            store.call("create_table", params, lease=None, write=False)
        except StoreMisconfigured as exc:
            cause = exc.__cause__
            if not (
                isinstance(cause, ClientError) and error_code(cause) == "ResourceInUseException"
            ):
                raise  # ResourceInUse: another init created it meanwhile
        table = _wait_active(store, timeout)
    elif table.get("TableStatus") != "ACTIVE":
        table = _wait_active(store, timeout)
    key = [(k["AttributeName"], k["KeyType"]) for k in table.get("KeySchema", [])]
    if key != [(names.key, "HASH")]:
        raise StoreMisconfigured(
            f"table {store.table} has key schema {key}, but cloudlease needs the partition key "
            f"{names.key!r} (type S) alone; pass attributes=AttributeNames(key=...) / "
            "?partition_key= to match it, or use another table",
            store=store.url,
        )
    _enable_ttl(store)


def _describe(store: TableAccess) -> dict[str, Any] | None:
    try:
        response = store.call("describe_table", {"TableName": store.table}, lease=None, write=False)
    except StoreMisconfigured as exc:
        cause = exc.__cause__
        if isinstance(cause, ClientError) and error_code(cause) == "ResourceNotFoundException":
            return None
        raise
    table: dict[str, Any] = response["Table"]
    return table


def _wait_active(store: TableAccess, timeout: float) -> dict[str, Any]:
    never = threading.Event()
    give_up = store.clock.monotonic() + timeout
    while True:
        table = _describe(store)
        if table is not None and table.get("TableStatus") == "ACTIVE":
            return table
        if store.clock.monotonic() >= give_up:
            status = "missing" if table is None else table.get("TableStatus")
            raise StoreUnavailable(
                f"table {store.table} is still {status} after {timeout:g}s; run "
                "cloudlease init again once it is ACTIVE",
                store=store.url,
            )
        store.clock.wait(never, _POLL)


def _enable_ttl(store: TableAccess) -> None:
    attribute = store.attributes.ttl
    response = store.call(
        "describe_time_to_live", {"TableName": store.table}, lease=None, write=False
    )
    description = response.get("TimeToLiveDescription", {})
    status = description.get("TimeToLiveStatus", "DISABLED")
    current = description.get("AttributeName")
    if status in ("ENABLED", "ENABLING"):
        if current != attribute:
            log.warning(
                "cloudlease: table %s has TTL on %r, not %r: abandoned lease records will not "
                "be deleted (harmless; set attributes=AttributeNames(ttl=%r) to use it)",
                store.table,
                current,
                attribute,
                current,
            )
        return
    store.call(
        "update_time_to_live",
        {
            "TableName": store.table,
            "TimeToLiveSpecification": {"Enabled": True, "AttributeName": attribute},
        },
        lease=None,
        write=True,
    )
