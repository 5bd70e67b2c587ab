"""A held lease as JSON, to hand it across invocations (a Step Functions state machine that
acquires in one Lambda and releases in another).

The handle carries what a store needs to recognise the grant (name, holder, fencing token,
the record as granted) and its local deadline as epoch ms on the issuing host's clock. The
receiver counts its own deadline from that, less the clock bound A (the hosts' clocks may be
that far apart), so it never believes in the lease longer than the issuer did. A stale handle
(expired, released, taken over) is refused with LeaseLost on renew, extend or a strict
release; an unreadable one with ConfigError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cloudlease.errors import ConfigError
from cloudlease.records import LeaseRecord

KIND = "cloudlease.handle"
VERSION = 1


@dataclass(frozen=True)
class Handle:
    """A decoded handle."""

    store: str
    name: str
    holder: str
    token: int
    ttl: float
    deadline_ms: int
    record: LeaseRecord


def encode(handle: Handle) -> dict[str, Any]:
    """The JSON form (a dict of JSON types)."""
    return {
        "kind": KIND,
        "version": VERSION,
        "store": handle.store,
        "name": handle.name,
        "holder": handle.holder,
        "token": handle.token,
        "ttl": handle.ttl,
        "deadline_ms": handle.deadline_ms,
        "record": handle.record.to_json(),
    }


def decode(data: object, *, store: str) -> Handle:
    """A handle from its JSON form, for ``store``; ConfigError naming what is wrong."""
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise ConfigError(
            f"not a lease handle: {str(data)[:80]!r}; pass what to_json() returned", store=store
        )
    if data.get("version") != VERSION:
        raise ConfigError(
            f"lease handle version {data.get('version')!r} is not {VERSION}: made by another "
            "cloudlease version; upgrade both sides together",
            store=store,
        )
    if data.get("store") != store:
        raise ConfigError(
            f"this handle is for store {data.get('store')!r}; open that store to use it",
            lease=str(data.get("name")),
            store=store,
        )
    try:
        raw = data["record"]
        record = LeaseRecord(
            name=str(raw["name"]),
            holder=str(raw["holder"] or ""),
            token=int(raw["token"]),
            expires_at=int(raw["expires_at"]),
            acquired_at=int(raw["acquired_at"]),
            renewed_at=int(raw["renewed_at"]),
            transitions=int(raw["transitions"]),
            metadata=dict(raw["metadata"]),
        )
        return Handle(
            store=store,
            name=str(data["name"]),
            holder=str(data["holder"]),
            token=int(data["token"]),
            ttl=float(data["ttl"]),
            deadline_ms=int(data["deadline_ms"]),
            record=record,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(
            f"the lease handle is damaged ({exc!r}); pass what to_json() returned, unchanged",
            lease=str(data.get("name")),
            store=store,
        ) from None
