"""cloudlease store on Azure Blob Storage (blob leases). (work in progress)."""

from __future__ import annotations

from typing import Any


def from_url(url: str, **options: Any) -> Any:
    raise NotImplementedError("cloudlease-azure-blob is not implemented yet")
