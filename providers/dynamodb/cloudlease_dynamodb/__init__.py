"""cloudlease store on Amazon DynamoDB: one conditional UpdateItem per lease operation.

``open_store("dynamodb://TABLE?region=eu-west-1")``, or ``DynamoDBStore("TABLE", client=...)``.
"""

from __future__ import annotations

from cloudlease_dynamodb.errors import THROTTLING_CODES
from cloudlease_dynamodb.schema import (
    DEFAULT_PARTITION_KEY,
    DEFAULT_PURGE_AFTER,
    DEFAULT_TTL_ATTRIBUTE,
    IAM_ACTIONS,
    INIT_IAM_ACTIONS,
    AttributeNames,
)
from cloudlease_dynamodb.store import DynamoDBStore
from cloudlease_dynamodb.url import URL_OPTIONS, from_url

__version__ = "0.1.0"  # the one version source of this distribution (pyproject reads it)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cloudlease_dynamodb.fencing import (
        FencedWriteRefused,
        condition_check,
        fenced_put,
        fenced_update,
        transact,
    )
else:

    def __getattr__(name: str) -> object:
        """The fencing helpers load on first use: a process that only holds leases (a cold
        start) does not pay for them."""
        if name in _FENCING:
            from cloudlease_dynamodb import fencing

            return getattr(fencing, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_FENCING = {"FencedWriteRefused", "condition_check", "fenced_put", "fenced_update", "transact"}

__all__ = [
    "DEFAULT_PARTITION_KEY",
    "DEFAULT_PURGE_AFTER",
    "DEFAULT_TTL_ATTRIBUTE",
    "IAM_ACTIONS",
    "INIT_IAM_ACTIONS",
    "THROTTLING_CODES",
    "URL_OPTIONS",
    "AttributeNames",
    "DynamoDBStore",
    "FencedWriteRefused",
    "condition_check",
    "fenced_put",
    "fenced_update",
    "from_url",
    "transact",
]
