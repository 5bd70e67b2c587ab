"""Requests: the flows' request descriptions (``_blobs``) mapped onto one SDK client.

The mapping is the same for the sync ``ContainerClient`` and the aio one (their methods have
the same names and arguments); each driver only says how a call's result is had: returned, or
awaited. ``bound`` holds no SDK import, so it serves both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from cloudlease._flows import Call

_CACHED_CLIENTS = 256
_LIST_OPTIONS = {"include": ["metadata"]}


class Requests:
    """Performs request descriptions on ``client`` (a container client) and its blobs."""

    def __init__(self, client: Any, lease_client: Callable[[Any, str | None], Any]) -> None:
        self.client = client
        self._lease_client = lease_client  # BlobLeaseClient, sync or aio
        self._blob_clients: dict[str, Any] = {}  # building one costs ~0.25 ms of CPU

    def blob(self, blob: str) -> Any:
        """The (cached, thread-safe) client of blob ``blob``."""
        found = self._blob_clients.get(blob)
        if found is None:
            if len(self._blob_clients) >= _CACHED_CLIENTS:
                self._blob_clients.clear()
            found = self._blob_clients[blob] = self.client.get_blob_client(blob)
        return found

    def bound(self, step: Call) -> Callable[[], Any]:
        """The SDK call that ``step`` describes, ready to call (its result is the driver's)."""
        kind, args = step.method, step.args
        if kind == "blob":
            blob, method, kwargs = args
            return partial(getattr(self.blob(blob), method), **kwargs)
        if kind == "lease":
            blob, lease_id, method, kwargs = args
            return partial(getattr(self._lease_client(self.blob(blob), lease_id), method), **kwargs)
        if kind == "container":
            method, kwargs = args
            return partial(getattr(self.client, method), **kwargs)
        if kind == "list":
            return partial(self.client.list_blobs, name_starts_with=args[0], **_LIST_OPTIONS)
        if kind == "download":
            return self.blob(args[0]).download_blob  # type: ignore[no-any-return]
        raise AssertionError(f"unknown Azure request {step!r}")
