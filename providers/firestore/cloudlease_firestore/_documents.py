"""How a lease record is laid out in a Firestore document, and back.

One document per lease, in one collection. The document id is the lease name, unchanged: the
core restricts names to ``[A-Za-z0-9][A-Za-z0-9._:-]{0,199}``, which never contains ``/``, is
never ``.`` or ``..``, never matches ``__.*__`` and stays far below Firestore's 1500-byte limit,
so the identity mapping is safe and trivially reversible. ``document_id`` still checks it.

Fields (plain values, readable in the Firestore console):

============  =========  ================================================================
field         type       meaning
============  =========  ================================================================
name          string     the lease name (equal to the document id)
holder        string     the holder id, ``""`` when released
token         integer    fencing token, strictly greater on every acquisition (epoch µs)
expires_at    integer    wall-clock epoch ms after which others may take over
acquired_at   integer    epoch ms of the acquisition by the current holder
renewed_at    integer    epoch ms of the last write by the holder
transitions   integer    how many times the holder changed
metadata      string     the holder's metadata as compact JSON (exact round trip)
schema        integer    2: tokens in µs (absent: written by an older cloudlease, ms tokens)
cleanup_at    timestamp  ``expires_at + cleanup_after``: the field for a Firestore TTL policy
============  =========  ================================================================

Every write replaces the whole document, so a document last written by a cloudlease that
predates ``schema`` has none and reads as schema 1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from google.cloud.firestore_v1.types import document as document_pb

from cloudlease.errors import ConfigError, CorruptRecord
from cloudlease.lease import LeaseRecord
from cloudlease.records import LEGACY_SCHEMA

#: The timestamp field a Firestore TTL policy should use (set past ``expires_at``).
TTL_FIELD = "cleanup_at"
#: Integer fields of a lease document.
INTEGER_FIELDS = ("token", "expires_at", "acquired_at", "renewed_at", "transitions")
#: Every field cloudlease writes, in console order.
FIELDS = ("name", "holder", *INTEGER_FIELDS, "metadata", "schema", TTL_FIELD)

_RESERVED_ID = re.compile(r"__.*__")
_MAX_ID_BYTES = 1500


def document_id(name: str, *, store: str | None = None) -> str:
    """The document id of lease ``name`` (identity; refused if Firestore would reject it)."""
    size = len(name.encode())
    if not name or "/" in name or name in {".", ".."} or _RESERVED_ID.fullmatch(name):
        raise ConfigError(
            f"lease name {name!r} cannot be a Firestore document id (no '/', not '.' or '..', "
            "not __x__); use letters, digits and . _ : -",
            lease=name,
            store=store,
        )
    if size > _MAX_ID_BYTES:
        raise ConfigError(
            f"lease name is {size} bytes; Firestore document ids stop at {_MAX_ID_BYTES}",
            lease=name,
            store=store,
        )
    return name


def lease_name(doc_id: str) -> str:
    """The lease name stored under document id ``doc_id`` (inverse of ``document_id``)."""
    return doc_id


def encode(record: LeaseRecord, cleanup_after_ms: int) -> dict[str, document_pb.Value]:
    """The document fields for ``record``."""
    cleanup = datetime.fromtimestamp((record.expires_at + cleanup_after_ms) / 1000, timezone.utc)
    fields = {
        "name": document_pb.Value(string_value=record.name),
        "holder": document_pb.Value(string_value=record.holder),
        "metadata": document_pb.Value(
            string_value=json.dumps(record.metadata, separators=(",", ":"), sort_keys=True)
        ),
        "schema": document_pb.Value(integer_value=record.schema),
        TTL_FIELD: document_pb.Value(timestamp_value=cleanup),
    }
    for key in INTEGER_FIELDS:
        fields[key] = document_pb.Value(integer_value=getattr(record, key))
    return fields


def plain_values(fields: Mapping[str, document_pb.Value]) -> dict[str, Any]:
    """Firestore values as Python values (only the kinds a lease document uses)."""
    out: dict[str, Any] = {}
    for key, value in fields.items():
        kind = document_pb.Value.pb(value).WhichOneof("value_type")
        if kind in {"string_value", "integer_value", "timestamp_value", "boolean_value"}:
            out[key] = getattr(value, kind)
        elif kind == "null_value":
            out[key] = None
        else:
            out[key] = _Unsupported(kind or "unset")
    return out


class _Unsupported:
    """A value of a kind cloudlease never writes (shown in CorruptRecord messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return f"<{self.kind}>"


def decode(doc_id: str, data: Mapping[str, Any], *, where: str) -> LeaseRecord:
    """The LeaseRecord stored in a document; CorruptRecord if cloudlease did not write it."""
    name = lease_name(doc_id)
    problems = [
        f"{key}={data.get(key)!r}"
        for key in INTEGER_FIELDS
        if not isinstance(data.get(key), int) or isinstance(data.get(key), bool)
    ]
    problems += [
        f"{key}={data.get(key)!r}"
        for key in ("holder", "metadata")
        if not isinstance(data.get(key), str)
    ]
    schema = data.get("schema", LEGACY_SCHEMA)
    if not isinstance(schema, int) or isinstance(schema, bool):
        problems.append(f"schema={schema!r}")
    if data.get("name") != name:
        problems.append(f"name={data.get('name')!r} (document id {doc_id!r})")
    metadata: Any = None
    if not problems:
        try:
            metadata = json.loads(data["metadata"])
        except ValueError:
            metadata = None
        if not isinstance(metadata, dict):
            problems.append(f"metadata={data['metadata']!r} is not a JSON object")
    if problems:
        raise CorruptRecord(
            f"document {doc_id!r} in {where} is not a cloudlease lease record "
            f"({', '.join(problems)}); delete the document or point the store at a collection "
            "used only by cloudlease",
            lease=name,
            store=where,
        )
    return LeaseRecord(
        name=name,
        holder=data["holder"],
        token=data["token"],
        expires_at=data["expires_at"],
        acquired_at=data["acquired_at"],
        renewed_at=data["renewed_at"],
        transitions=data["transitions"],
        metadata=metadata,
        schema=schema,
    )
