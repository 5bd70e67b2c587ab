"""cloudlease store on Amazon DynamoDB (conditional writes). (work in progress)."""

from __future__ import annotations

from typing import Any


def from_url(url: str, **options: Any) -> Any:
    raise NotImplementedError("cloudlease-dynamodb is not implemented yet")
