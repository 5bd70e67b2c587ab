"""cloudlease store on Google Cloud Firestore (transactions). (work in progress)."""

from __future__ import annotations

from typing import Any


def from_url(url: str, **options: Any) -> Any:
    raise NotImplementedError("cloudlease-firestore is not implemented yet")
