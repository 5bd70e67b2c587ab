"""What the table helpers (``table``, ``fencing``) need from a store: a Protocol, so that they
take the store as an argument and never import ``store`` back (imports run one way)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from cloudlease.clock import Clock
    from cloudlease.lease import LeaseRecord
    from cloudlease_dynamodb.expressions import Requests
    from cloudlease_dynamodb.schema import AttributeNames


class TableAccess(Protocol):
    """One DynamoDB table of lease records, as a ``DynamoDBStore`` offers it."""

    @property
    def table(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def attributes(self) -> AttributeNames: ...

    @property
    def requests(self) -> Requests: ...

    def call(
        self,
        operation: str,
        params: Mapping[str, Any],
        *,
        lease: str | None,
        write: bool,
        budget: float | None = None,
    ) -> dict[str, Any]:
        """One API call, throttling retried; other failures become cloudlease errors."""
        ...

    def decode(self, item: Mapping[str, Any]) -> LeaseRecord:
        """The lease record an item holds (CorruptRecord when it is not one)."""
        ...
