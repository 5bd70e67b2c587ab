"""cloudlease store on Azure Blob Storage: one blob per lease, guarded by a blob lease.

``open_store("azblob://ACCOUNT/CONTAINER?endpoint=URL&prefix=P")`` or ``AzureBlobStore(url,
container_client=...)``. Fenced writes: ``fenced_update`` / ``fenced_upload`` for any blob,
``AzureBlobStore.write_lease_blob`` for the lease blob itself.
"""

from __future__ import annotations

from cloudlease_azure_blob._client import DEFAULT_PREFIX, Location, parse_url
from cloudlease_azure_blob._errors import ROLE as IAM_ROLE
from cloudlease_azure_blob.store import AzureBlobStore, from_url

__version__ = "0.1.0"  # the one version source of this distribution (pyproject reads it)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from cloudlease_azure_blob.fencing import fenced_update, fenced_upload
else:

    def __getattr__(name: str) -> object:
        """The fencing helpers load on first use: a process that only holds leases (a cold
        start) does not pay for them."""
        if name in ("fenced_update", "fenced_upload"):
            from cloudlease_azure_blob import fencing

            return getattr(fencing, name)
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "DEFAULT_PREFIX",
    "IAM_ROLE",
    "AzureBlobStore",
    "Location",
    "fenced_update",
    "fenced_upload",
    "from_url",
    "parse_url",
]
