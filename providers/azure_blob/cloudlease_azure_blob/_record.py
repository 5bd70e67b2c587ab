"""How a lease record lives in a blob's metadata, and the blob lease that guards it.

One blob per lease (``PREFIX + name``). Its metadata holds the record of DESIGN.md as ASCII
strings, so ``az storage blob metadata show`` shows who leads:

=============  =============================================================================
key            value
=============  =============================================================================
cloudlease     format version, ``1``: marks a lease blob (any other blob is refused)
holder         holder id; absent while the lease is free
token          fencing token (decimal, epoch µs at most at its grant; docs/tokens.md)
schema         ``2``: tokens in µs; absent when an older cloudlease wrote the metadata (ms
               tokens, read as schema 1). ``cloudlease`` stays ``1`` so older clients
               keep reading the blob; every write replaces all the metadata.
expires_at     epoch ms at which the acquiring attempt's blob lease would end
acquired_at    epoch ms of the acquisition that made ``holder`` the holder
renewed_at     epoch ms of the last write of the record (renewals do not write it)
transitions    how many times the holder changed
lease_seconds  the blob lease's duration (15-60)
metadata       the holder's metadata, compact JSON (``cloudlease._validation.encode_metadata``)
=============  =============================================================================
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping

from cloudlease._frozen import Frozen, setters
from cloudlease._validation import encode_metadata
from cloudlease._validation import is_lease_name as _valid_name
from cloudlease.errors import CorruptRecord
from cloudlease.lease import LeaseRecord
from cloudlease.records import LEGACY_SCHEMA

FORMAT_KEY = "cloudlease"
FORMAT_VERSION = "1"
#: Azure's bounds for a finite blob lease, in whole seconds.
MIN_LEASE_SECONDS = 15
MAX_LEASE_SECONDS = 60
#: The longest ttl accepted: a 60 s blob lease renewed by the keeper every ttl/3 must still
#: leave room for retries before the 60 s server lease lapses (hold() renews every ttl/3).
MAX_TTL_SECONDS = 120
#: Lease states in which the server still holds the blob lease for someone.
ACTIVE_STATES = frozenset({"leased", "breaking"})

_LEASE_ID_NAMESPACE = uuid.UUID("8b7f6a3e-4f1d-5c2a-9e0b-6d1c2a3b4c5d")


def lease_seconds(ttl: float) -> int:
    """The blob lease duration for ``ttl`` (already within [15, MAX_TTL]): rounded DOWN to
    whole seconds, at most 60 (a longer ttl is a 60 s lease the keeper renews)."""
    return min(MAX_LEASE_SECONDS, math.floor(ttl))


def lease_id(name: str, holder: str, token: int) -> str:
    """The blob lease id of one acquisition, chosen by the client before it asks.

    Derived from what the record stores, so a retry of the same attempt proposes the same id
    (Azure re-grants it idempotently), and a holder that finds its own record can name the
    lease it holds (re-entry). A lease id is a coordination token, not a secret: anyone who may
    write the container may break a lease anyway.
    """
    return str(uuid.uuid5(_LEASE_ID_NAMESPACE, f"{name}\n{holder}\n{token}"))


class Stored(Frozen):
    """A lease blob as read: its record (None before the first acquisition) and lease state."""

    __slots__ = ("etag", "lease_state", "record", "seconds")
    _fields = ("record", "lease_state", "etag", "seconds")

    record: LeaseRecord | None
    lease_state: str
    etag: str
    seconds: int

    def __init__(
        self, record: LeaseRecord | None, lease_state: str, etag: str, seconds: int
    ) -> None:
        put = _PUT_STORED
        put[0](self, record)
        put[1](self, lease_state)
        put[2](self, etag)
        put[3](self, seconds)

    @property
    def leased(self) -> bool:
        return self.lease_state in ACTIVE_STATES


_PUT_STORED = setters(Stored)


def to_metadata(record: LeaseRecord, seconds: int) -> dict[str, str]:
    """The blob metadata that stores ``record`` (ASCII strings only)."""
    metadata = {
        FORMAT_KEY: FORMAT_VERSION,
        "token": str(record.token),
        "expires_at": str(record.expires_at),
        "acquired_at": str(record.acquired_at),
        "renewed_at": str(record.renewed_at),
        "transitions": str(record.transitions),
        "lease_seconds": str(seconds),
        "metadata": encode_metadata(record.metadata),
        "schema": str(record.schema),
    }
    if record.holder:
        metadata["holder"] = record.holder
    return metadata


def is_lease_name(name: str) -> bool:
    return _valid_name(name)


def is_lease_blob(metadata: Mapping[str, str]) -> bool:
    return {key.lower(): value for key, value in metadata.items()}.get(FORMAT_KEY) is not None


def from_metadata(
    name: str, metadata: Mapping[str, str], *, where: str, store: str
) -> tuple[LeaseRecord | None, int]:
    """The record stored in ``metadata`` (None if never acquired) and its lease seconds.

    Raise CorruptRecord when the values are not what cloudlease writes.
    """
    values = {key.lower(): value for key, value in metadata.items()}
    if values.get(FORMAT_KEY) != FORMAT_VERSION:
        raise CorruptRecord(
            f"{where} has format {values.get(FORMAT_KEY)!r}, expected {FORMAT_VERSION!r}; "
            "upgrade cloudlease-azure-blob or delete the blob",
            lease=name,
            store=store,
        )
    if "token" not in values:
        return None, MIN_LEASE_SECONDS
    try:
        decoded = json.loads(values.get("metadata", "{}"))
        if not isinstance(decoded, dict):
            raise ValueError("metadata is not a JSON object")
        record = LeaseRecord(
            name=name,
            holder=values.get("holder", ""),
            token=int(values["token"]),
            expires_at=int(values["expires_at"]),
            acquired_at=int(values.get("acquired_at", "0")),
            renewed_at=int(values.get("renewed_at", "0")),
            transitions=int(values.get("transitions", "0")),
            metadata=decoded,
            schema=int(values.get("schema", str(LEGACY_SCHEMA))),
        )
        seconds = int(values.get("lease_seconds", str(MIN_LEASE_SECONDS)))
    except (KeyError, ValueError) as exc:
        raise CorruptRecord(
            f"{where} has unreadable lease metadata ({exc!r}); fix the metadata, or delete the "
            "blob once it is free (cloudlease purge: its token restarts at the current epoch "
            "µs)",
            lease=name,
            store=store,
        ) from None
    return record, seconds


def as_observed(record: LeaseRecord, *, leased: bool, seconds: int, now_ms: int) -> LeaseRecord:
    """The record as the server's lease makes it true at ``now_ms``.

    Azure does not expose a blob lease's remaining time, and renewals write nothing. While the
    blob lease is active the lease ends no later than ``now + lease_seconds``, which is what
    ``expires_at`` then says; once the server has freed it (expired, broken, released) a record
    that still names a holder reports an expiry in the past.
    """
    if leased:
        return record.replace(expires_at=max(record.expires_at, now_ms + seconds * 1000))
    if record.holder and record.expires_at >= now_ms:
        return record.replace(expires_at=now_ms - 1)
    return record
