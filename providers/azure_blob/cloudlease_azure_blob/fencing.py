"""Fenced writes to Azure blobs: a stale holder's write is refused with LeaseLost.

A target blob carries the fencing token of the last write in its metadata
(``cloudlease_token``). ``fenced_update`` reads the blob, refuses if the stored token is newer
than the lease's, and writes conditioned on the ETag it read (so a concurrent write in between
makes it read again): read-compare-write, with the comparison made against what is stored.
To write the lease blob itself under the blob lease, use ``AzureBlobStore.write_lease_blob``.
"""

from __future__ import annotations

from collections.abc import Callable

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError, ResourceModifiedError
from azure.storage.blob import BlobClient

from cloudlease.errors import LeaseLost, StoreUnavailable
from cloudlease.lease import Fence
from cloudlease_azure_blob._errors import Where, error_code, translate

TOKEN_KEY = "cloudlease_token"
LEASE_KEY = "cloudlease_lease"
HOLDER_KEY = "cloudlease_holder"
_ATTEMPTS = 5


def _where(blob: BlobClient) -> Where:
    url = f"azblob://{blob.account_name}/{blob.container_name}"
    return Where(blob.account_name or "", blob.container_name, url)


def stored_token(metadata: dict[str, str]) -> int | None:
    """The fencing token stored on a target blob, or None if it has none."""
    value = {key.lower(): val for key, val in metadata.items()}.get(TOKEN_KEY)
    return int(value) if value is not None and value.isdigit() else None


def fenced_update(blob: BlobClient, lease: Fence, update: Callable[[bytes | None], bytes]) -> str:
    """Replace ``blob``'s content with ``update(current content or None)``, fenced by ``lease``.

    ``lease`` is any Fence: a Lease, or the held lease of ``hold()`` and the other front doors.
    Refused with LeaseLost when the lease's local deadline has passed or when the blob already
    carries a newer token (a successor wrote). Returns the new ETag.
    """
    where = _where(blob)
    for _ in range(_ATTEMPTS):
        lease.ensure()
        try:
            download = blob.download_blob()
            current: bytes | None = download.readall()
            etag: str | None = download.properties.etag
            metadata = dict(download.properties.metadata or {})
        except AzureError as exc:
            if error_code(exc) != "BlobNotFound":
                raise translate(
                    exc, where, lease=lease.name, blob=blob.blob_name, write=False
                ) from exc
            current, etag, metadata = None, None, {}
        token = stored_token(metadata)
        if token is not None and token > lease.token:
            raise LeaseLost(
                f"blob {blob.blob_name!r} was written with token {token}, newer than this "
                f"lease's {lease.token}: another holder took over; stop acting and acquire again",
                lease=lease.name,
                store=where.url,
            )
        metadata.update(
            {TOKEN_KEY: str(lease.token), LEASE_KEY: lease.name, HOLDER_KEY: lease.holder}
        )
        data = update(current)
        try:
            if etag is None:
                result = blob.upload_blob(data, overwrite=False, metadata=metadata)
            else:
                result = blob.upload_blob(
                    data,
                    overwrite=True,
                    metadata=metadata,
                    etag=etag,
                    match_condition=MatchConditions.IfNotModified,
                )
        except (ResourceModifiedError, ResourceExistsError):
            continue  # written in between: read again and compare again
        except AzureError as exc:
            if error_code(exc) == "ConditionNotMet":
                continue
            raise translate(exc, where, lease=lease.name, blob=blob.blob_name, write=True) from exc
        return str(result["etag"])
    raise StoreUnavailable(
        f"blob {blob.blob_name!r} kept changing during {_ATTEMPTS} fenced writes; retry",
        lease=lease.name,
        store=where.url,
    )


def fenced_upload(blob: BlobClient, lease: Fence, data: bytes) -> str:
    """Replace ``blob``'s content with ``data``, fenced by ``lease`` (see ``fenced_update``)."""
    return fenced_update(blob, lease, lambda _current: data)
