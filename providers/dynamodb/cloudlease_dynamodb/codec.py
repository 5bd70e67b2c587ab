"""Lease records <-> DynamoDB items (low-level AttributeValue form, e.g. ``{"S": "x"}``).

Metadata is stored as a compact JSON string, so ``aws dynamodb get-item`` shows it as written
and numbers round-trip exactly. A record that does not have the expected types is refused with
CorruptRecord: it is never taken over silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cloudlease.errors import CorruptRecord
from cloudlease.lease import LeaseRecord
from cloudlease.records import LEGACY_SCHEMA
from cloudlease_dynamodb.schema import AttributeNames

Item = Mapping[str, Mapping[str, Any]]


def encode_metadata(metadata: Mapping[str, Any]) -> str:
    """The metadata attribute's value (already validated by the core)."""
    if not metadata:
        return "{}"  # what json.dumps writes for it, without building an encoder per call
    return json.dumps(metadata, separators=(",", ":"), ensure_ascii=True, sort_keys=True)


def s(value: str) -> dict[str, str]:
    return {"S": value}


def n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def encode(record: LeaseRecord, names: AttributeNames, purge_at: Mapping[str, str]) -> Item:
    """The whole item of ``record`` (what ``decode`` reads back), with the TTL attribute."""
    return {
        names.key: s(record.name),
        names.holder: s(record.holder),
        names.token: n(record.token),
        names.expires_at: n(record.expires_at),
        names.acquired_at: n(record.acquired_at),
        names.renewed_at: n(record.renewed_at),
        names.transitions: n(record.transitions),
        names.metadata: s(encode_metadata(record.metadata)),
        names.ttl: purge_at,
        names.schema: n(record.schema),
    }


def decode(item: Item, names: AttributeNames, *, table: str, store: str) -> LeaseRecord:
    """The LeaseRecord an item holds; CorruptRecord if it is not a cloudlease record."""
    lease = _text(item.get(names.key)) or "?"
    try:
        metadata = json.loads(_field(item, names.metadata, "S"))
        if not isinstance(metadata, dict):
            raise ValueError(f"{names.metadata!r} is not a JSON object")
        return LeaseRecord(
            name=_field(item, names.key, "S"),
            holder=_field(item, names.holder, "S"),
            token=_int(item, names.token),
            expires_at=_int(item, names.expires_at),
            acquired_at=_int(item, names.acquired_at),
            renewed_at=_int(item, names.renewed_at),
            transitions=_int(item, names.transitions),
            metadata=metadata,
            schema=_int(item, names.schema) if names.schema in item else LEGACY_SCHEMA,
        )
    except (KeyError, TypeError, ValueError) as exc:
        reason = exc.args[0] if exc.args else repr(exc)
        raise CorruptRecord(
            f"the item in table {table} is not a cloudlease record ({reason}); cloudlease will "
            "not take it over. Delete the item (aws dynamodb delete-item) or use a table of "
            "its own for leases",
            lease=lease,
            store=store,
        ) from None


def _text(value: Mapping[str, Any] | None) -> str | None:
    raw = value.get("S") if isinstance(value, Mapping) else None
    return raw if isinstance(raw, str) else None


def _field(item: Item, attribute: str, kind: str) -> str:
    value = item.get(attribute)
    if value is None:
        raise KeyError(f"attribute {attribute!r} is missing")
    raw = value.get(kind) if isinstance(value, Mapping) else None
    if not isinstance(raw, str):
        found = ", ".join(value) if isinstance(value, Mapping) else type(value).__name__
        raise TypeError(f"attribute {attribute!r} has type {found}, expected {kind}")
    return raw


def _int(item: Item, attribute: str) -> int:
    raw = _field(item, attribute, "N")
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"attribute {attribute!r} is {raw}, expected an integer") from None
