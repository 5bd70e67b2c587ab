"""AzureCore: every decision of the Azure Blob store, written once as flows of requests.

Requests per operation (happy path):

- acquire: read the blob (properties + metadata), take the blob lease conditioned on that
  read's ETag with a lease id derived from the new token (when the record already names this
  holder, a re-entry: acquire it again under its id, then ``change`` it = one more), write the
  record under the new lease id = 3. A lease
  name's very first acquisition creates the blob first (create-only) = 4. Refusal = 1.
- renew: renew the blob lease = 1 (the record is not rewritten; see ``_record.as_observed``).
- release: write the released record under the lease id, release the blob lease = 2.

Lost responses: the SDK retries a request whose response was lost; every lease request
proposes an id fixed by the attempt, so the retry is idempotent. A record write that still
fails is resolved by reading back; if the token was not written, the blob lease is released.

The flows yield request descriptions (``_blobs``); ``AzureBlobStore`` sends them on the sync
SDK, ``cloudlease_azure_blob.aio.AsyncAzureBlobStore`` on ``azure.storage.blob.aio``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypedDict

from azure.core.exceptions import AzureError, ResourceExistsError

from cloudlease import records as rules
from cloudlease._flows import Flow
from cloudlease._validation import Duration
from cloudlease.clock import Clock
from cloudlease.errors import CloudLeaseError, ConfigError, LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.skew import HttpDateProbe, measures_host_clock
from cloudlease.store import Capabilities, StoreCore
from cloudlease_azure_blob import _record as rec
from cloudlease_azure_blob._blobs import (
    UNLESS_MODIFIED,
    LeaseBlobs,
    downloading,
    not_ours,
    on_blob,
    on_container,
)
from cloudlease_azure_blob._client import Location, open_client, parse_url
from cloudlease_azure_blob._errors import Where, error_code
from cloudlease_azure_blob._requests import Requests

if TYPE_CHECKING:
    from typing_extensions import Unpack

log = logging.getLogger("cloudlease")

_ATTEMPTS = 3


class Settings(TypedDict, total=False):
    """``StoreCore``'s settings, as both sides of the store take them."""

    clock: Clock | None
    takeover_allowance: Duration | None
    clock_skew_bound: Duration
    safety_margin: Duration | None


class AzureCore(StoreCore):
    """Leases as blobs ``PREFIX + name`` in one container, guarded by Azure blob leases."""

    capabilities = Capabilities(
        server_side_expiry=True,
        min_ttl=float(rec.MIN_LEASE_SECONDS),
        max_ttl=float(rec.MAX_TTL_SECONDS),
        longest_grant=float(rec.MAX_LEASE_SECONDS),
        whole_seconds=True,
        ttl_rule=(
            f"Azure blob leases last {rec.MIN_LEASE_SECONDS}-{rec.MAX_LEASE_SECONDS} s (or "
            "forever, which cloudlease never uses, so a crashed holder cannot leave a lease "
            "stuck); a "
            f"longer ttl, up to {rec.MAX_TTL_SECONDS} s, is granted as a "
            f"{rec.MAX_LEASE_SECONDS} s blob lease"
        ),
        fencing=True,
        consistency="strong",
        shared_across="network",
        round_trips={"acquire": 3, "renew": 1, "release": 2, "get": 1, "steal": 6},
    )

    #: Which SDK the store's client is from: ``azure.storage.blob`` or its ``aio`` package.
    _aio = False
    #: That SDK's ``BlobLeaseClient``.
    _lease_client: Any = None

    def __init__(
        self,
        url: str,
        *,
        container_client: Any = None,
        client_options: dict[str, Any] | None = None,
        **settings: Unpack[Settings],
    ) -> None:
        super().__init__(**settings)
        self.location: Location = parse_url(url)
        where = Where(self.location.account, self.location.container, self.location.url)
        self.blobs = LeaseBlobs(self.location.prefix, where, self.clock)
        self._credential: Any = None
        if container_client is None:
            options = self._hooked(dict(client_options or {}))
            container_client, self._credential = open_client(
                self.location, aio=self._aio, **options
            )
        else:
            self._check_injected(container_client)
        self.container_client = container_client
        self.requests = Requests(container_client, self._lease_client)

    def _hooked(self, options: dict[str, Any]) -> dict[str, Any]:
        """The SDK client's options, with a probe of each reply's Date header (it bounds our
        clock offset) unless the caller hooks requests itself."""
        if measures_host_clock(self.clock) and not {
            "raw_request_hook",
            "raw_response_hook",
        } & set(options):
            probe = HttpDateProbe(self.clock, self.clock_offset)
            options["raw_request_hook"] = probe.sent
            options["raw_response_hook"] = lambda response: probe.received(
                response.http_response.headers.get("Date")
            )
        return options

    def _check_injected(self, container_client: Any) -> None:
        """Refuse an injected container client for another account or container."""
        if (container_client.account_name, container_client.container_name) != (
            self.location.account,
            self.location.container,
        ):
            raise ConfigError(
                f"the injected ContainerClient is for account {container_client.account_name!r}, "
                f"container {container_client.container_name!r}, but the URL names "
                f"{self.location.account!r}/{self.location.container!r}; pass a matching URL",
                store=self.location.url,
            )

    @property
    def url(self) -> str:
        return self.location.url

    # -- primitives, as flows of requests ---------------------------------------------------

    def _acquire_calls(self, request: AcquireRequest) -> Flow[tuple[LeaseRecord, Any]]:
        name = request.name
        seconds = rec.lease_seconds(request.ttl_ms / 1000)
        stored: rec.Stored | None = None
        broke = False  # a steal breaks the old holder's blob lease once, never a newer one
        for _ in range(_ATTEMPTS):
            stored = yield from self.blobs.read(name)
            if stored is None:
                etag = yield from self.blobs.create(name)
                if etag is None:
                    continue
                stored = rec.Stored(None, "available", etag, seconds)
            current = stored.record
            record = rules.acquired(current, request)
            new_id = rec.lease_id(name, request.holder, record.token)
            if stored.leased and (current is None or current.holder != request.holder):
                steals = request.steals
                if broke or steals is None or not rules.holds(current, *steals):
                    raise self._held_by(request, stored)
                # A steal: break the old holder's lease (if the blob is still as read), then
                # take it like any free one. Between the two, any contender may take it.
                broke = yield from self.blobs.break_if_unchanged(name, stored.etag)
                continue
            if (yield from self._take(request, stored, new_id, seconds)):
                written = yield from self._write_record(request, record, new_id, seconds)
                return written, new_id
        assert stored is not None
        raise self._held_by(request, stored)

    def _take(
        self, request: AcquireRequest, stored: rec.Stored, new_id: str, seconds: int
    ) -> Flow[bool]:
        """Take the blob lease for ``new_id`` if the blob is still as read; False on a race.

        A free blob lease is acquired. Our own active one (re-entry) is first acquired again
        under its id, which restarts its period with the asked duration (a Change Lease keeps
        the old expiry, which may be sooner than this grant's deadline), then changed to
        ``new_id``, so leases handed out before no longer renew. All are conditioned on the
        read's ETag.
        """
        name = request.name
        condition: dict[str, Any] = {"etag": stored.etag, "match_condition": UNLESS_MODIFIED}
        try:
            if stored.leased:
                assert stored.record is not None
                old_id = rec.lease_id(name, stored.record.holder, stored.record.token)
                # Acquiring under its id restarts the period from now.
                yield self.blobs.on_lease(
                    name, old_id, "acquire", lease_duration=seconds, **condition
                )
                yield self.blobs.on_lease(
                    name, old_id, "change", proposed_lease_id=new_id, **condition
                )
            else:
                yield self.blobs.on_lease(
                    name, new_id, "acquire", lease_duration=seconds, **condition
                )
        except AzureError as exc:
            code = error_code(exc)
            if code == "LeaseIdMismatchWithLeaseOperation":
                raise self._held_by(request, stored) from None  # not the lease our record names
            if not_ours(exc):
                return False
            error = self.blobs.error(exc, name, write=True)
            if isinstance(error, StoreUnavailable) and error.ambiguous:
                # The lease may be ours after all: give it back rather than leave it stuck.
                settled = yield from self.blobs.release_quietly(name, new_id)
                raise StoreUnavailable(
                    f"{error.detail}; the blob lease this attempt may have taken was "
                    + ("released" if settled else "not released (it lapses within its ttl)"),
                    lease=name,
                    store=self.url,
                    ambiguous=not settled,
                ) from exc
            raise error from exc
        return True

    def _write_record(
        self, request: AcquireRequest, record: LeaseRecord, new_id: str, seconds: int
    ) -> Flow[LeaseRecord]:
        """Write the new token under the blob lease; on failure read back, else give it up."""
        name = request.name
        try:
            yield self.blobs.set_metadata(name, rec.to_metadata(record, seconds), lease=new_id)
            return record
        except AzureError as exc:
            failure = exc
        try:
            stored = yield from self.blobs.read(name)
        except CloudLeaseError:
            stored = None
        if stored is not None and stored.record == record:
            return record  # the write landed; only its response was lost
        settled = yield from self.blobs.release_quietly(name, new_id)
        error = self.blobs.error(failure, name, write=True)
        if not isinstance(error, StoreUnavailable):
            raise error from failure
        raise StoreUnavailable(
            f"the blob lease was taken but the token could not be written ({error.detail}); "
            + (
                "the blob lease was released and the record is unchanged: retry"
                if settled
                else "releasing the blob lease failed too: it lapses within its ttl; retry"
            ),
            lease=name,
            store=self.url,
            ambiguous=not settled,
        ) from failure

    def _held_by(self, request: AcquireRequest, stored: rec.Stored) -> LeaseHeld:
        observed = self.blobs.observed(stored)
        if observed is not None and observed.holder and observed.holder != request.holder:
            return self._held(request, observed)
        # The blob lease is held but no record names its holder yet: an acquisition between
        # its two writes, or an acquirer that died there (its lease lapses within 60 s).
        placeholder = LeaseRecord(
            name=request.name,
            holder="",
            token=observed.token if observed else 0,
            expires_at=request.now_ms + stored.seconds * 1000,
        )
        return LeaseHeld(
            f"the blob lease of {self.blobs.where.blob(self.blobs.name_of(request.name))} is "
            "held but its holder has not written its token yet (an acquisition in progress, or "
            "one that died midway: its lease lapses within 60 s); wait for it or skip this run",
            lease=request.name,
            store=self.url,
            record=placeholder,
        )

    def _renew_calls(self, lease: Lease, now_ms: int, ttl_ms: int) -> Flow[tuple[LeaseRecord, Any]]:
        seconds = rec.lease_seconds(lease.ttl)
        if rec.lease_seconds(ttl_ms / 1000) > seconds:
            # A shorter ttl is safe (the holder stops before the server frees the lease).
            raise ConfigError(
                f"an Azure blob lease keeps the duration it was acquired with ({seconds} s) and "
                f"cannot be renewed for {ttl_ms / 1000:g} s; renew with ttl <= {seconds}, or "
                "release and acquire again with the longer ttl",
                lease=lease.name,
                store=self.url,
            )
        lease_id = self._lease_id(lease)
        try:
            yield self.blobs.on_lease(lease.name, lease_id, "renew")
        except AzureError as exc:
            if not_ours(exc):
                raise (yield from self._lost_now(lease)) from None
            # A renewal is idempotent: the keeper's retry is the way to resolve a lost response.
            raise self.blobs.error(exc, lease.name, write=False) from exc
        return rules.renewed(lease.record, now_ms, ttl_ms), lease_id

    def _lost_now(self, lease: Lease) -> Flow[LeaseLost]:
        """LeaseLost for ``lease``, naming what the store holds now."""
        current = yield from self._get_calls(lease.name)
        return self._lost(lease, current)

    def _release_calls(self, lease: Lease, now_ms: int) -> Flow[bool]:
        name = lease.name
        lease_id = self._lease_id(lease)
        released = rules.released(lease.record, now_ms)
        try:
            yield self.blobs.set_metadata(
                name, rec.to_metadata(released, rec.lease_seconds(lease.ttl)), lease=lease_id
            )
        except AzureError as exc:
            if not_ours(exc):
                return False
            # The holder lets go whatever the write's outcome: give the blob lease back too.
            # Kept, a write whose replies were all lost (it landed: the record says released)
            # left the blob leased, refusing every contender until it lapsed (up to 60 s);
            # a write that did not land leaves a record that, unleased, reads as expired.
            yield from self.blobs.release_quietly(name, lease_id)
            raise self.blobs.error(exc, name, write=True) from exc
        if not (yield from self.blobs.release_quietly(name, lease_id)):
            log.warning("cloudlease: %r is released; its blob lease lapses at its ttl", name)
        return True

    def _get_calls(self, name: str) -> Flow[LeaseRecord | None]:
        stored = yield from self.blobs.read(name)
        return None if stored is None else self.blobs.observed(stored)

    def _list_calls(self) -> Flow[list[LeaseRecord]]:
        return (yield from self.blobs.list())

    def _force_release_calls(self, name: str, now_ms: int) -> Flow[LeaseRecord | None]:
        stored = yield from self.blobs.read(name)
        if stored is None or stored.record is None:
            return None
        before = self.blobs.observed(stored)
        if stored.leased:
            yield from self.blobs.break_lease(name)
        if stored.record.holder:
            try:
                yield self.blobs.set_metadata(
                    name,
                    rec.to_metadata(rules.released(stored.record, now_ms), stored.seconds),
                    etag=stored.etag,
                    match_condition=UNLESS_MODIFIED,
                )
            except AzureError as exc:
                # Changed since the read: someone acquired after the break; the old holder is
                # gone all the same.
                if not not_ours(exc):
                    raise self.blobs.error(exc, name, write=True) from exc
        return before

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        return rec.lease_id(record.name, record.holder, record.token)

    def _lease_id(self, lease: Lease) -> str:
        if isinstance(lease.store_state, str):
            return lease.store_state
        return rec.lease_id(lease.name, lease.holder, lease.token)

    # -- administration ---------------------------------------------------------------------

    def _init_calls(self) -> Flow[None]:
        """Create the container; idempotent."""
        try:
            yield on_container("create_container")
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise self.blobs.error(exc, None, write=True) from exc

    def _delete_calls(self, name: str) -> Flow[None]:
        """Delete the lease blob (breaking its lease first), as an operator would."""
        yield from self.blobs.break_lease(name)
        try:
            yield on_blob(self.blobs.name_of(name), "delete_blob")
        except AzureError as exc:
            if error_code(exc) != "BlobNotFound":
                raise self.blobs.error(exc, name, write=True) from exc

    # -- the lease blob's content -----------------------------------------------------------

    def _write_blob_calls(self, lease: Lease, data: bytes) -> Flow[None]:
        """Replace the lease blob's content under the blob lease (the record is kept).

        Azure itself refuses the write once the blob lease is not ``lease``'s (taken over,
        broken, lapsed): that raises LeaseLost.
        """
        lease.ensure()
        try:
            yield on_blob(
                self.blobs.name_of(lease.name),
                "upload_blob",
                data=data,
                overwrite=True,
                lease=self._lease_id(lease),
                metadata=rec.to_metadata(lease.record, rec.lease_seconds(lease.ttl)),
            )
        except AzureError as exc:
            if not_ours(exc):
                raise (yield from self._lost_now(lease)) from None
            raise self.blobs.error(exc, lease.name, write=True) from exc

    def _read_blob_calls(self, name: str) -> Flow[bytes]:
        """The lease blob's content (empty until a holder writes it)."""
        try:
            data: bytes = yield downloading(self.blobs.name_of(name))
        except AzureError as exc:
            raise self.blobs.error(exc, name, write=False) from exc
        return data
