"""LeaseBlobs: the requests on lease blobs that every store operation is made of.

Reads return ``_record.Stored`` (record + server lease state + ETag); unexpected SDK errors
become cloudlease errors naming account, container and blob.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError
from azure.storage.blob import BlobClient, BlobLeaseClient, ContainerClient

from cloudlease.clock import Clock
from cloudlease.errors import CloudLeaseError, StoreMisconfigured
from cloudlease.lease import LeaseRecord
from cloudlease_azure_blob import _record as rec
from cloudlease_azure_blob._errors import Where, error_code, status_of, translate

log = logging.getLogger("cloudlease")
T = TypeVar("T")

#: Error codes that mean "the lease (or blob) is not the one this request names".
NOT_OURS = frozenset(
    {
        "LeaseIdMismatchWithLeaseOperation",
        "LeaseIdMismatchWithBlobOperation",
        "LeaseNotPresentWithLeaseOperation",
        "LeaseNotPresentWithBlobOperation",
        "LeaseIsBrokenAndCannotBeRenewed",
        "LeaseIsBreakingAndCannotBeChanged",
        "LeaseIsBreakingAndCannotBeAcquired",
        "LeaseLost",
        "LeaseIdMissing",
        "LeaseAlreadyPresent",
        "ConditionNotMet",
        "BlobNotFound",
    }
)


_CACHED_CLIENTS = 256


def not_ours(exc: AzureError) -> bool:
    """True when ``exc`` says the blob lease (or blob) is not the one the request named."""
    return error_code(exc) in NOT_OURS


class LeaseBlobs:
    """The lease blobs ``prefix + name`` of one container."""

    def __init__(self, client: ContainerClient, prefix: str, where: Where, clock: Clock) -> None:
        self.client = client
        self.prefix = prefix
        self.where = where
        self.clock = clock
        self._blob_clients: dict[str, BlobClient] = {}  # building one costs ~0.25 ms of CPU

    def name_of(self, name: str) -> str:
        """The blob name of lease ``name``."""
        return self.prefix + name

    def blob(self, name: str) -> BlobClient:
        """The (cached, thread-safe) client of lease ``name``'s blob."""
        blob = self._blob_clients.get(name)
        if blob is None:
            if len(self._blob_clients) >= _CACHED_CLIENTS:
                self._blob_clients.clear()
            blob = self._blob_clients[name] = self.client.get_blob_client(self.name_of(name))
        return blob

    def lease_client(self, name: str, lease_id: str | None = None) -> BlobLeaseClient:
        return BlobLeaseClient(self.blob(name), lease_id)

    def error(self, exc: AzureError, name: str | None, *, write: bool) -> CloudLeaseError:
        blob = self.name_of(name) if name else None
        return translate(exc, self.where, lease=name, blob=blob, write=write)

    def call(self, name: str | None, write: bool, body: Callable[[], T]) -> T:
        """Run one SDK call; unexpected Azure errors become cloudlease errors."""
        try:
            return body()
        except AzureError as exc:
            raise self.error(exc, name, write=write) from exc

    def stored(self, name: str, metadata: dict[str, str], state: str, etag: str) -> rec.Stored:
        """Parse what a read returned; refuse a blob that is not a lease blob."""
        where = self.where.blob(self.name_of(name))
        if not rec.is_lease_blob(metadata):
            raise StoreMisconfigured(
                f"{where} exists and is not a cloudlease lease blob (no 'cloudlease' metadata); "
                "delete or rename that blob, or give the store another prefix (?prefix=)",
                lease=name,
                store=self.where.url,
            )
        record, seconds = rec.from_metadata(name, metadata, where=where, store=self.where.url)
        return rec.Stored(record, state or "available", etag, seconds)

    def read(self, name: str) -> rec.Stored | None:
        """One strongly consistent read of the lease blob, or None if there is none."""
        try:
            props = self.blob(name).get_blob_properties()
        except AzureError as exc:
            if error_code(exc) == "BlobNotFound":
                return None
            raise self.error(exc, name, write=False) from exc
        return self.stored(name, dict(props.metadata or {}), props.lease.state, props.etag)

    def observed(self, stored: rec.Stored) -> LeaseRecord | None:
        """The record as the server's lease state makes it true now."""
        if stored.record is None:
            return None
        return rec.as_observed(
            stored.record,
            leased=stored.leased,
            seconds=stored.seconds,
            now_ms=self.clock.wall_ms(),
        )

    def list(self) -> list[LeaseRecord]:
        """Every lease record under the prefix (other blobs there are skipped)."""
        found: list[LeaseRecord] = []
        blobs = self.call(
            None,
            False,
            lambda: list(
                self.client.list_blobs(name_starts_with=self.prefix, include=["metadata"])
            ),
        )
        for props in blobs:
            name = props.name[len(self.prefix) :]
            metadata = dict(props.metadata or {})
            if not rec.is_lease_name(name) or not rec.is_lease_blob(metadata):
                continue
            observed = self.observed(self.stored(name, metadata, props.lease.state, props.etag))
            if observed is not None:
                found.append(observed)
        return found

    def create(self, name: str) -> str | None:
        """Create the empty lease blob (create-only); its ETag, or None if it already exists."""
        try:
            result = self.blob(name).upload_blob(
                b"", overwrite=False, metadata={rec.FORMAT_KEY: rec.FORMAT_VERSION}
            )
        except ResourceExistsError:
            return None  # a racing creator won: harmless
        except AzureError as exc:
            if status_of(exc) == 412:  # a retried create whose first try landed
                return None
            raise self.error(exc, name, write=True) from exc
        return str(result["etag"])

    def release_quietly(self, name: str, lease_id: str) -> bool:
        """Release blob lease ``lease_id`` if it is held; True unless the outcome is unknown."""
        try:
            self.lease_client(name, lease_id).release()
        except AzureError as exc:
            if not_ours(exc):
                return True
            log.warning("cloudlease: could not release the blob lease of %r: %s", name, exc)
            return False
        return True

    def break_if_unchanged(self, name: str, etag: str) -> bool:
        """Break the blob lease now (break period 0) if the blob is still ``etag``; False when
        it changed since (or is not leased)."""
        try:
            self.lease_client(name).break_lease(
                lease_break_period=0, etag=etag, match_condition=MatchConditions.IfNotModified
            )
        except AzureError as exc:
            if not_ours(exc) or status_of(exc) in (409, 412):
                return False
            raise self.error(exc, name, write=True) from exc
        return True

    def break_lease(self, name: str) -> None:
        """Break the blob lease now (break period 0), whoever holds it; no-op if none."""
        try:
            self.lease_client(name).break_lease(lease_break_period=0)
        except AzureError as exc:
            if not (not_ours(exc) or status_of(exc) == 409):
                raise self.error(exc, name, write=True) from exc
