"""The conditional writes of acquire, re-entry, renew, release and force-release.

Each is one conditional write. Placeholders: ``#field`` for attribute names (see
``AttributeNames.placeholders``), ``:value`` for values. The takeover writes only over an item
that carries ``#schema = 2``, which cloudlease writes with every attribute of the record, so a
foreign item fails the condition, comes back as ALL_OLD and is reported as CorruptRecord
instead of being overwritten. The conditions are kept short: on moto every request parses its
expressions, and a takeover is the request a herd of contenders sends most.
"""

from __future__ import annotations

import re
from typing import Any

from cloudlease.records import SCHEMA, AcquireRequest, LeaseRecord
from cloudlease_dynamodb.codec import encode, encode_metadata, n, s
from cloudlease_dynamodb.schema import AttributeNames

_PLACEHOLDER = re.compile(r"[#:][A-Za-z_]+")
# Every attribute of the record has its type, and metadata looks like a JSON object. (What a
# condition cannot see, a fractional number, is caught when the returned item is decoded.)
_WELL_FORMED = (
    "attribute_type(#holder, :S) AND attribute_type(#token, :N) "
    "AND attribute_type(#expires_at, :N) AND attribute_type(#acquired_at, :N) "
    "AND attribute_type(#renewed_at, :N) AND attribute_type(#transitions, :N) "
    "AND attribute_type(#metadata, :S) AND begins_with(#metadata, :brace)"
)

# Takeover (and first use). Cases, on the timeline of one lease name:
#   no item yet, or deleted by TTL/an operator   -> attribute_not_exists(#key)
#   written by cloudlease (schema 2), not by us  -> #schema = :schema AND #holder <> :holder
#   released by its holder (holder = "")          -> #holder = :free
#   expired on our clock beyond the takeover allowance
#                                                 -> #expires_at < :stale_before
#                                                    (now - allowance > expires_at)
#   held by us already                             -> refused here; re-entry below
#   written by an older cloudlease (no #schema)    -> refused here; LIFT below
# transitions + 1 (a holder change). Tokens (docs/tokens.md): an update cannot read the item
# first, so a fresh item starts at now_us + 1 and each acquisition adds one (the record's
# token never passes true time + A: grants are more than 1 µs apart).
# (Until issue 22 it also checked the type of every attribute, _WELL_FORMED above: 8 more
# clauses on every takeover, which cost a third of moto's time per request. An item that
# carries schema 2 was written by cloudlease whole; a forged one is refused when decoded.)
TAKEOVER_CONDITION = (
    "attribute_not_exists(#key) OR (#schema = :schema "
    "AND #holder <> :holder AND (#holder = :free OR #expires_at < :stale_before))"
)
TAKEOVER_UPDATE = (
    "SET #holder = :holder, #token = if_not_exists(#token, :now_us) + :one, "
    "#expires_at = :expires_at, #acquired_at = :now_ms, #renewed_at = :now_ms, "
    "#transitions = if_not_exists(#transitions, :zero) + :one, #metadata = :metadata, "
    "#ttl = :purge_at, #schema = :schema"
)

# Re-entry: the item already names us (a lost response, or a restart with the same holder id).
# A new token, but the same holder: transitions and acquired_at are kept.
REENTRY_CONDITION = "#holder = :holder AND attribute_type(#token, :N) AND #schema = :schema"
REENTRY_UPDATE = (
    "SET #token = #token + :one, #expires_at = :expires_at, #renewed_at = :now_ms, "
    "#metadata = :metadata, #ttl = :purge_at"
)

# Lift: an item without #schema was written by a cloudlease that counted tokens in ms (before
# the upgrade, or re-created by an older client after a deletion). Continuing at token + 1
# would keep an older client's smaller token, so the store reads it (the failed condition
# returned it), decides as the read-first stores do (``records.acquired``: token =
# max(token + 1, now_us)) and writes the result only if the item is still the one it read.
LIFT_CONDITION = (
    "(attribute_not_exists(#schema) OR #schema < :schema) AND #holder = :seen_holder "
    "AND #token = :seen_token AND #expires_at = :seen_expires_at"
)
LIFT_UPDATE = (
    "SET #holder = :holder, #token = :token, #expires_at = :expires_at, "
    "#acquired_at = :acquired_at, #renewed_at = :now_ms, #transitions = :transitions, "
    "#metadata = :metadata, #ttl = :purge_at, #schema = :schema"
)

# Replace: when the store has seen the item (any reply carries it: ALL_OLD, ALL_NEW, GetItem),
# an acquisition is a PutItem of the whole record, decided from what was seen as the
# read-first stores decide (``records.acquired``: token max(token + 1, now_us)), and written
# only if no acquisition happened since (only an acquisition changes #token; a renewal or a
# release keeps it) and the lease is, now, free for us (the takeover cases above) or still ours
# (re-entry). No update expression, so less work per request than a takeover, and re-entry is
# one request. An item deleted since fails #token = :seen_token, like any other change.
REPLACE_TAKEOVER_CONDITION = (
    "#token = :seen_token AND #holder <> :holder AND (#holder = :free "
    "OR #expires_at < :stale_before)"
)
REPLACE_REENTRY_CONDITION = "#token = :seen_token AND #holder = :holder"

# Steal (``cloudlease steal``): take the lease from a live holder, only while the item still
# names the holder and token the stealer read (a renewal keeps both, so it does not stop the
# steal; any acquisition or release since does). The takeover's update: token + 1, holder
# changed, so the old holder's renewals and fenced writes fail their #token condition.
STEAL_CONDITION = "#schema = :schema AND #holder = :seen_holder AND #token = :seen_token"

# Renew and release: only while the item still names this holder AND this token.
HELD_CONDITION = "#holder = :holder AND #token = :token"
RENEW_UPDATE = "SET #expires_at = :expires_at, #renewed_at = :now_ms, #ttl = :purge_at"
# Release clears the holder and keeps the token; expiry becomes the release time. This is
# ``records.released`` too: the one rule of every store (a SET cannot take a minimum).
RELEASE_UPDATE = "SET #holder = :free, #expires_at = :now_ms, #ttl = :purge_at"

# Force release (operators): any well-formed item, whoever holds it.
FORCE_CONDITION = f"attribute_exists(#key) AND {_WELL_FORMED}"


class Requests:
    """Builds UpdateItem keyword arguments for one table."""

    def __init__(self, table: str, names: AttributeNames, purge_after_ms: int) -> None:
        self.table = table
        self.names = names
        self.purge_after_ms = purge_after_ms
        self._placeholders = names.placeholders()
        #: (update, condition) -> (the ExpressionAttributeNames they use, the value
        #: placeholders they use): worked out once per expression, not per request.
        self._used: dict[tuple[str, str], tuple[dict[str, str], tuple[str, ...]]] = {}

    def _uses(self, update: str, condition: str) -> tuple[dict[str, str], tuple[str, ...]]:
        known = self._used.get((update, condition))
        if known is None:
            used = set(_PLACEHOLDER.findall(f"{update} {condition}"))
            names = {k: v for k, v in self._placeholders.items() if k in used}
            known = names, tuple(sorted(k for k in used if k.startswith(":")))
            self._used[(update, condition)] = known
        return known

    def key(self, name: str) -> dict[str, Any]:
        return {self.names.key: s(name)}

    def purge_at(self, expires_at_ms: int) -> dict[str, str]:
        """The TTL attribute's value: epoch SECONDS, ``purge_after`` past expiry, rounded up."""
        return n(-(-(expires_at_ms + self.purge_after_ms) // 1000))

    def _update(
        self, name: str, update: str, condition: str, values: dict[str, Any], *, old: bool = False
    ) -> dict[str, Any]:
        names, used = self._uses(update, condition)
        return {
            "TableName": self.table,
            "Key": self.key(name),
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": dict(names),  # a copy: the request is the caller's
            "ExpressionAttributeValues": {k: values[k] for k in used if k in values},
            "ReturnValues": "ALL_OLD" if old else "ALL_NEW",
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def takeover(self, request: AcquireRequest) -> dict[str, Any]:
        return self._update(request.name, TAKEOVER_UPDATE, TAKEOVER_CONDITION, self._acq(request))

    def steal(self, request: AcquireRequest, holder: str, token: int) -> dict[str, Any]:
        """The takeover of ``request`` if the item still names ``holder`` and ``token``."""
        values = {**self._acq(request), ":seen_holder": s(holder), ":seen_token": n(token)}
        return self._update(request.name, TAKEOVER_UPDATE, STEAL_CONDITION, values)

    def reentry(self, request: AcquireRequest) -> dict[str, Any]:
        return self._update(request.name, REENTRY_UPDATE, REENTRY_CONDITION, self._acq(request))

    def lift(self, request: AcquireRequest, seen: LeaseRecord, to: LeaseRecord) -> dict[str, Any]:
        """Replace ``seen`` (an item of an older schema) by ``to`` if it is still ``seen``."""
        values = {
            ":holder": s(to.holder),
            ":token": n(to.token),
            ":expires_at": n(to.expires_at),
            ":acquired_at": n(to.acquired_at),
            ":now_ms": n(to.renewed_at),
            ":transitions": n(to.transitions),
            ":metadata": s(encode_metadata(to.metadata)),
            ":purge_at": self.purge_at(to.expires_at),
            ":schema": n(SCHEMA),
            ":seen_holder": s(seen.holder),
            ":seen_token": n(seen.token),
            ":seen_expires_at": n(seen.expires_at),
        }
        return self._update(request.name, LIFT_UPDATE, LIFT_CONDITION, values)

    def _acq(self, request: AcquireRequest) -> dict[str, Any]:
        return {
            ":holder": s(request.holder),
            ":free": s(""),
            ":stale_before": n(request.now_ms - request.allowance_ms),
            ":now_ms": n(request.now_ms),
            ":now_us": n(request.token_floor),
            ":schema": n(SCHEMA),
            ":one": n(1),
            ":zero": n(0),
            ":expires_at": n(request.expires_at),
            ":metadata": s(encode_metadata(request.metadata)),
            ":purge_at": self.purge_at(request.expires_at),
            ":S": s("S"),
            ":N": s("N"),
            ":brace": s("{"),
        }

    def replace(
        self, request: AcquireRequest, seen: LeaseRecord, to: LeaseRecord
    ) -> dict[str, Any]:
        """PutItem of ``to``, decided from ``seen``, if ``seen``'s token is still current."""
        condition = (
            REPLACE_REENTRY_CONDITION
            if seen.holder == request.holder
            else REPLACE_TAKEOVER_CONDITION
        )
        values = {
            ":seen_token": n(seen.token),
            ":holder": s(request.holder),
            ":free": s(""),
            ":stale_before": n(request.now_ms - request.allowance_ms),
        }
        names, used = self._uses("", condition)
        return {
            "TableName": self.table,
            "Item": encode(to, self.names, self.purge_at(to.expires_at)),
            "ConditionExpression": condition,
            "ExpressionAttributeNames": dict(names),
            "ExpressionAttributeValues": {k: values[k] for k in used if k in values},
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def renew(self, name: str, holder: str, token: int, now_ms: int, ttl_ms: int) -> dict[str, Any]:
        values = {
            ":holder": s(holder),
            ":token": n(token),
            ":expires_at": n(now_ms + ttl_ms),
            ":now_ms": n(now_ms),
            ":purge_at": self.purge_at(now_ms + ttl_ms),
        }
        return self._update(name, RENEW_UPDATE, HELD_CONDITION, values)

    def release(self, name: str, holder: str, token: int, now_ms: int) -> dict[str, Any]:
        values = {
            ":holder": s(holder),
            ":token": n(token),
            ":free": s(""),
            ":now_ms": n(now_ms),
            ":purge_at": self.purge_at(now_ms),
        }
        return self._update(name, RELEASE_UPDATE, HELD_CONDITION, values)

    def force_release(self, name: str, now_ms: int) -> dict[str, Any]:
        values = {
            ":free": s(""),
            ":now_ms": n(now_ms),
            ":purge_at": self.purge_at(now_ms),
            ":S": s("S"),
            ":N": s("N"),
            ":brace": s("{"),
        }
        return self._update(name, RELEASE_UPDATE, FORCE_CONDITION, values, old=True)
