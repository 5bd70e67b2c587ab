"""LeaseBlobs: the requests on lease blobs that every store operation is made of, as flows.

A request is a small description (``cloudlease._flows.Call``) that a driver maps onto its
client, sync or aio: ``on_blob`` (a method of the lease blob's client), ``on_lease`` (a method
of a blob lease client with a lease id), ``on_container``, ``listing`` and ``downloading``.
Every decision about a reply (what an error code means, what a read found) is made here, once,
for both sides. Reads return ``_record.Stored`` (record + server lease state + ETag);
unexpected SDK errors become cloudlease errors naming account, container and blob.
"""

from __future__ import annotations

import logging
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import AzureError, ResourceExistsError

from cloudlease._flows import Call, Flow
from cloudlease.clock import Clock
from cloudlease.errors import CloudLeaseError, StoreMisconfigured
from cloudlease.lease import LeaseRecord
from cloudlease_azure_blob import _record as rec
from cloudlease_azure_blob._errors import Where, error_code, status_of, translate

log = logging.getLogger("cloudlease")

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


def not_ours(exc: AzureError) -> bool:
    """True when ``exc`` says the blob lease (or blob) is not the one the request named."""
    return error_code(exc) in NOT_OURS


def on_blob(blob: str, method: str, **kwargs: Any) -> Call:
    """Call ``method(**kwargs)`` on the client of blob ``blob``."""
    return Call("blob", (blob, method, kwargs))


def on_lease(blob: str, lease_id: str | None, method: str, **kwargs: Any) -> Call:
    """Call ``method(**kwargs)`` on a blob lease client of ``blob`` for ``lease_id``."""
    return Call("lease", (blob, lease_id, method, kwargs))


def on_container(method: str, **kwargs: Any) -> Call:
    """Call ``method(**kwargs)`` on the container client."""
    return Call("container", (method, kwargs))


def listing(prefix: str) -> Call:
    """Every blob (with its metadata) whose name starts with ``prefix``, as a list."""
    return Call("list", (prefix,))


def downloading(blob: str) -> Call:
    """The content of blob ``blob``, as bytes."""
    return Call("download", (blob,))


UNLESS_MODIFIED = MatchConditions.IfNotModified


class LeaseBlobs:
    """The lease blobs ``prefix + name`` of one container: flows of requests, no I/O."""

    def __init__(self, prefix: str, where: Where, clock: Clock) -> None:
        self.prefix = prefix
        self.where = where
        self.clock = clock

    def name_of(self, name: str) -> str:
        """The blob name of lease ``name``."""
        return self.prefix + name

    def error(self, exc: AzureError, name: str | None, *, write: bool) -> CloudLeaseError:
        blob = self.name_of(name) if name else None
        return translate(exc, self.where, lease=name, blob=blob, write=write)

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

    def read(self, name: str) -> Flow[rec.Stored | None]:
        """One strongly consistent read of the lease blob, or None if there is none."""
        try:
            props = yield on_blob(self.name_of(name), "get_blob_properties")
        except AzureError as exc:
            if error_code(exc) == "BlobNotFound":
                return None
            raise self.error(exc, name, write=False) from exc
        return self.stored(name, dict(props.metadata or {}), props.lease.state, props.etag)

    def list(self) -> Flow[list[LeaseRecord]]:
        """Every lease record under the prefix (other blobs there are skipped)."""
        try:
            blobs = yield listing(self.prefix)
        except AzureError as exc:
            raise self.error(exc, None, write=False) from exc
        found: list[LeaseRecord] = []
        for props in blobs:
            name = props.name[len(self.prefix) :]
            metadata = dict(props.metadata or {})
            if not rec.is_lease_name(name) or not rec.is_lease_blob(metadata):
                continue
            observed = self.observed(self.stored(name, metadata, props.lease.state, props.etag))
            if observed is not None:
                found.append(observed)
        return found

    def create(self, name: str) -> Flow[str | None]:
        """Create the empty lease blob (create-only); its ETag, or None if it already exists."""
        try:
            result = yield on_blob(
                self.name_of(name),
                "upload_blob",
                data=b"",
                overwrite=False,
                metadata={rec.FORMAT_KEY: rec.FORMAT_VERSION},
            )
        except ResourceExistsError:
            return None  # a racing creator won: harmless
        except AzureError as exc:
            if status_of(exc) == 412:  # a retried create whose first try landed
                return None
            raise self.error(exc, name, write=True) from exc
        return str(result["etag"])

    def set_metadata(self, name: str, metadata: dict[str, str], **condition: Any) -> Call:
        """Replace the lease blob's metadata, under ``condition`` (a lease id, an ETag)."""
        return on_blob(self.name_of(name), "set_blob_metadata", metadata=metadata, **condition)

    def on_lease(self, name: str, lease_id: str | None, method: str, **kwargs: Any) -> Call:
        """``method`` on the blob lease of lease ``name`` (for ``lease_id``)."""
        return on_lease(self.name_of(name), lease_id, method, **kwargs)

    def release_quietly(self, name: str, lease_id: str) -> Flow[bool]:
        """Release blob lease ``lease_id`` if it is held; True unless the outcome is unknown."""
        try:
            yield self.on_lease(name, lease_id, "release")
        except AzureError as exc:
            if not_ours(exc):
                return True
            log.warning("cloudlease: could not release the blob lease of %r: %s", name, exc)
            return False
        return True

    def break_if_unchanged(self, name: str, etag: str) -> Flow[bool]:
        """Break the blob lease now (break period 0) if the blob is still ``etag``; False when
        it changed since (or is not leased)."""
        try:
            yield self.on_lease(
                name,
                None,
                "break_lease",
                lease_break_period=0,
                etag=etag,
                match_condition=UNLESS_MODIFIED,
            )
        except AzureError as exc:
            if not_ours(exc) or status_of(exc) in (409, 412):
                return False
            raise self.error(exc, name, write=True) from exc
        return True

    def break_lease(self, name: str) -> Flow[None]:
        """Break the blob lease now (break period 0), whoever holds it; no-op if none."""
        try:
            yield self.on_lease(name, None, "break_lease", lease_break_period=0)
        except AzureError as exc:
            if not (not_ours(exc) or status_of(exc) == 409):
                raise self.error(exc, name, write=True) from exc
