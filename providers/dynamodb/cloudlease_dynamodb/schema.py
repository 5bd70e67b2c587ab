"""The table's shape: attribute names, their defaults, the TTL horizon and the IAM actions.

The Terraform module ``terraform/dynamodb`` copies these defaults; keep them in step.
"""

from __future__ import annotations

import re
from datetime import timedelta

from cloudlease._frozen import Frozen, setters
from cloudlease.errors import ConfigError

#: Partition key (type S): the lease name.
DEFAULT_PARTITION_KEY = "name"
#: The numeric TTL attribute (epoch SECONDS) DynamoDB's Time to Live deletes records by.
DEFAULT_TTL_ATTRIBUTE = "purge_at"
#: How long past ``expires_at`` (or the release) an untouched record is kept before TTL may
#: delete it. Tokens stay monotonic after deletion when a record is deleted at least twice the
#: clock-skew bound after its last grant (docs/tokens.md); the store refuses a ``purge_after``
#: below three clock-skew bounds, and a week also outlasts any request still on its way.
DEFAULT_PURGE_AFTER = timedelta(days=7)

#: What the store needs on the table at run time (acquire, renew, release, get, status, fenced
#: writes' ConditionCheck). Without PutItem (a policy from before it) acquisitions keep to
#: UpdateItem: they work, and a re-entry costs two requests.
IAM_ACTIONS: tuple[str, ...] = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:Scan",
    "dynamodb:ConditionCheckItem",
)
#: What ``cloudlease init`` needs in addition (create the table, wait for it, enable TTL).
INIT_IAM_ACTIONS: tuple[str, ...] = (
    "dynamodb:CreateTable",
    "dynamodb:DescribeTable",
    "dynamodb:DescribeTimeToLive",
    "dynamodb:UpdateTimeToLive",
)

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.\-]{3,255}")
_ATTRIBUTE_NAME = re.compile(r"[\x21-\x7e]{1,255}")


class AttributeNames(Frozen):
    """Names of the item's attributes (rename them to fit an existing table's conventions).

    ``schema`` names the record-schema attribute (N): 2 = µs tokens; absent on items written
    by an older cloudlease.
    """

    _fields = (
        "key",
        "holder",
        "token",
        "expires_at",
        "acquired_at",
        "renewed_at",
        "transitions",
        "metadata",
        "ttl",
        "schema",
    )
    __slots__ = _fields

    key: str
    holder: str
    token: str
    expires_at: str
    acquired_at: str
    renewed_at: str
    transitions: str
    metadata: str
    ttl: str
    schema: str

    def __init__(
        self,
        key: str = DEFAULT_PARTITION_KEY,
        holder: str = "holder",
        token: str = "token",
        expires_at: str = "expires_at",
        acquired_at: str = "acquired_at",
        renewed_at: str = "renewed_at",
        transitions: str = "transitions",
        metadata: str = "metadata",
        ttl: str = DEFAULT_TTL_ATTRIBUTE,
        schema: str = "schema",
    ) -> None:
        values = [
            key, holder, token, expires_at, acquired_at, renewed_at, transitions, metadata, ttl,
            schema,
        ]  # fmt: skip
        for name, value, put in zip(self._fields, values, _PUT_NAMES, strict=True):
            if not isinstance(value, str) or not _ATTRIBUTE_NAME.fullmatch(value):
                raise ConfigError(
                    f"attribute name {name}={value!r} is invalid: use 1-255 printable ASCII "
                    "characters without spaces"
                )
            put(self, value)
        if len(set(values)) != len(values):
            raise ConfigError(f"attribute names must be distinct, got {values}")

    def placeholders(self) -> dict[str, str]:
        """``#field`` -> attribute name, for ExpressionAttributeNames."""
        return {f"#{name}": getattr(self, name) for name in self._fields}


_PUT_NAMES = setters(AttributeNames)


def check_table_name(table: object, *, store: str) -> str:
    """Return ``table`` if DynamoDB accepts it as a table name, else raise ConfigError."""
    if not isinstance(table, str) or not _TABLE_NAME.fullmatch(table):
        raise ConfigError(
            f"invalid DynamoDB table name {table!r}: use 3-255 characters of letters, digits "
            "and '_.-'",
            store=store,
        )
    return table
