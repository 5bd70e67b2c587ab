"""``firestore://PROJECT/COLLECTION``: one Firestore document per lease.

Requests per operation (happy path)::

    acquire   BatchGetDocuments, Commit with precondition update_time == read's
              (exists=False when there was no document)                  -> 2
              (refused: decided on the read, nothing written)            -> 1
    renew     Commit of one write, precondition update_time == ours      -> 1
    release   Commit of one write, precondition update_time == ours      -> 1
    get       BatchGetDocuments                                          -> 1

No transaction, so no lock: a commit whose precondition fails (someone wrote in between) writes
nothing, and the record is read and decided again, ``max_attempts`` rounds in all. The holder
keeps the ``update_time`` of its last write in ``Lease.store_state``; when a renew or release
precondition fails, one read tells a takeover (LeaseLost / nothing to release) from a foreign
write that left us holding (then the write is redone on that read). ABORTED is retried
``max_attempts`` times; a commit that times out or comes back UNAVAILABLE may have landed and
is resolved by reading back (``BaseStore``); a commit that lands late cannot overwrite anything
newer, its precondition sees to that. Every time written comes from the store's Clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from google.api_core import exceptions as gexc
from google.cloud import firestore

from cloudlease import records as rules
from cloudlease._validation import Duration, to_seconds
from cloudlease.clock import Clock
from cloudlease.errors import (
    CloudLeaseError,
    ConfigError,
    StoreUnavailable,
)
from cloudlease.lease import Fence, Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.skew import measures_host_clock
from cloudlease.store import BaseStore, Capabilities
from cloudlease_firestore import _documents as docs
from cloudlease_firestore import fencing
from cloudlease_firestore._client import build_client, check_names
from cloudlease_firestore._errors import AMBIGUOUS, Where, is_datastore_mode, translate
from cloudlease_firestore._rpc import Rpc

log = logging.getLogger("cloudlease.firestore")
T = TypeVar("T")

DEFAULT_COLLECTION = "cloudlease_leases"
DEFAULT_DATABASE = "(default)"
#: How long past ``expires_at`` the TTL field lets a record live (7 days).
DEFAULT_CLEANUP_AFTER = 7 * 24 * 3600.0


@dataclass(frozen=True)
class FirestoreState:
    """Private to the store: the lease document's ``update_time`` after our last write."""

    update_time: datetime


class _NotOurs(Exception):
    """Raised by a decision when the record no longer names the lease."""

    def __init__(self, current: LeaseRecord | None) -> None:
        super().__init__("not ours")
        self.current = current


class _Contended(Exception):
    """Every attempt aborted on lock contention."""

    def __init__(self, attempts: int, last: Exception | None) -> None:
        super().__init__(f"{attempts} attempt(s) aborted: {last}")
        self.attempts = attempts


class FirestoreStore(BaseStore):
    """Lease records as documents of one Firestore collection (Native mode)."""

    capabilities = Capabilities(
        round_trips={"acquire": 2, "refused": 1, "renew": 1, "release": 1, "get": 1},
    )

    def __init__(
        self,
        project: str | None = None,
        collection: str = DEFAULT_COLLECTION,
        *,
        database: str = DEFAULT_DATABASE,
        client: firestore.Client | None = None,
        credentials: Any = None,
        timeout: Duration = 10.0,
        max_attempts: int = 3,
        cleanup_after: Duration = DEFAULT_CLEANUP_AFTER,
        clock: Clock | None = None,
        takeover_allowance: Duration | None = None,
        clock_skew_bound: Duration = 1.0,
        safety_margin: Duration | None = None,
    ) -> None:
        super().__init__(
            clock=clock,
            takeover_allowance=takeover_allowance,
            clock_skew_bound=clock_skew_bound,
            safety_margin=safety_margin,
        )
        if client is not None:
            project = project or client.project
            database = getattr(client, "_database", None) or database
        self.project = project or ""
        self.collection = collection
        self.database = database
        check_names(self.project, collection, database, url=self.url)
        self.timeout = to_seconds(timeout, what="timeout", store=self.url)
        if not isinstance(max_attempts, int) or isinstance(max_attempts, bool) or max_attempts < 1:
            raise ConfigError(
                f"max_attempts must be a whole number >= 1, got {max_attempts!r}", store=self.url
            )
        self.max_attempts = max_attempts
        cleanup = to_seconds(cleanup_after, what="cleanup_after", store=self.url)
        if cleanup < 3 * self.clock_skew_bound:  # docs/tokens.md: the deletion contract
            raise ConfigError(
                f"cleanup_after={cleanup:g}s is shorter than 3 x the clock-skew bound "
                f"({self.clock_skew_bound:g}s): a document deleted that early could be re-created "
                "with a smaller fencing token; keep the default (7 days) or raise it",
                store=self.url,
            )
        self.cleanup_after_ms = round(cleanup * 1000)
        self._client = client
        self._owns_client = client is None
        self._credentials = credentials
        self._rpc: Rpc | None = None
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[LeaseRecord, datetime]] = {}

    # -- identity and client ----------------------------------------------------------------

    @property
    def url(self) -> str:
        query = "" if self.database == DEFAULT_DATABASE else f"?database={self.database}"
        return f"firestore://{self.project}/{self.collection}{query}"

    @property
    def where(self) -> Where:
        return Where(
            self.url, self.project or "(from the environment)", self.database, self.collection
        )

    @property
    def client(self) -> firestore.Client:
        """The ``firestore.Client`` (built on first use): run fenced transactions on it."""
        self._connect()
        assert self._client is not None
        return self._client

    def document(self, name: str) -> firestore.DocumentReference:
        """The document that holds lease ``name``."""
        doc_id = docs.document_id(name, store=self.url)
        return self.client.collection(self.collection).document(doc_id)

    def _connect(self) -> Rpc:
        with self._lock:
            if self._rpc is None:
                if self._client is None:
                    self._client = build_client(
                        self.project or None, self.database, self._credentials, self.where
                    )
                    self.project = self.project or str(self._client.project)
                self._rpc = Rpc(
                    self._client,
                    self.collection,
                    self.timeout,
                    stamps=self._stamp if measures_host_clock(self.clock) else None,
                    now_ms=self.clock.wall_ms,
                )
            return self._rpc

    def _stamp(self, server_time: Any, sent_ms: float, received_ms: float) -> None:
        """A reply's commit or read time (microseconds) bounds this host's clock offset."""
        self.clock_offset.observe(server_time.timestamp() * 1000, 0.001, sent_ms, received_ms)

    def init(self) -> None:
        """Check access by reading one document: Firestore has nothing to create (idempotent).

        The database must exist in Native mode (the Terraform module or ``gcloud firestore
        databases create``); collections appear with their first document.
        """
        rpc = self._connect()
        self._request(None, lambda: rpc.get("cloudlease-init-check"))

    def close(self) -> None:
        with self._lock:
            if self._rpc is not None and self._owns_client:
                self._rpc.api.transport.close()
                self._client = None
            self._rpc = None

    # -- request helpers --------------------------------------------------------------------

    def _request(self, name: str | None, call: Callable[[], T]) -> T:
        """One request that writes nothing (or surely did not apply): errors are not ambiguous.

        UNAVAILABLE is retried once: gRPC notices a dead connection a moment late, so the call
        right after a reset (typically the read back that settles a lost commit) can be sent on
        it and fail at once; these calls write nothing, and the retry finds a new connection.
        """
        try:
            try:
                return call()
            except gexc.ServiceUnavailable:
                return call()
        except (CloudLeaseError, _NotOurs):
            raise
        except Exception as exc:
            raise translate(exc, self.where, name) from exc

    def _decode(self, name: str, found: Any) -> LeaseRecord | None:
        if found is None:
            return None
        return docs.decode(name, docs.plain_values(found.fields), where=self.url)

    def _read(self, name: str) -> tuple[LeaseRecord | None, datetime | None]:
        """One strongly consistent read: the record and its document's ``update_time``.

        The pair is remembered for ``_state_after_ambiguous`` (a read back after a lost reply).
        """
        rpc = self._connect()
        found = self._request(name, lambda: rpc.get(name))
        record = self._decode(name, found)
        if record is None or found is None:
            return None, None
        with self._lock:
            self._seen[name] = (record, found.update_time)
        update_time: datetime = found.update_time
        return record, update_time

    def _commit_one(self, name: str, write: Any, rpc: Rpc) -> datetime:
        """Commit one write; retried on ABORTED, ambiguous on a lost reply.

        A failed precondition (FAILED_PRECONDITION, or ALREADY_EXISTS for ``exists=False``)
        passes through: the document is not the one the write was conditioned on.
        """
        last: Exception | None = None
        for _ in range(self.max_attempts):
            try:
                response = rpc.commit([write])
            except gexc.Aborted as exc:
                last = exc
                continue
            except gexc.FailedPrecondition as exc:
                if is_datastore_mode(exc):
                    raise translate(exc, self.where, name) from exc
                raise
            except gexc.AlreadyExists:
                raise
            except AMBIGUOUS as exc:
                raise translate(exc, self.where, name, ambiguous=True) from exc
            except Exception as exc:
                raise translate(exc, self.where, name) from exc
            update_time: datetime = response.write_results[0].update_time
            return update_time
        raise _Contended(self.max_attempts, last)

    def _write_as_read(
        self,
        name: str,
        decide: Callable[[LeaseRecord | None], LeaseRecord],
        seen: tuple[LeaseRecord | None, datetime | None] | None = None,
    ) -> tuple[LeaseRecord, datetime]:
        """Read, ``decide``, then commit only if the document is still the one read.

        The commit carries a precondition (``update_time`` of the read, or ``exists=False``
        when there was no document), so nothing is locked and nothing waits: when another
        client wrote in between, the precondition fails, nothing is written, and the record is
        read and decided again (``max_attempts`` rounds). ``decide`` returns the record to
        write or raises to refuse; ``seen`` is a read already made. Returns (record written,
        its update_time).
        """
        rpc = self._connect()
        last: Exception | None = None
        for _ in range(self.max_attempts):
            current, read_at = seen if seen is not None else self._read(name)
            seen = None
            record = decide(current)
            fields = docs.encode(record, self.cleanup_after_ms)
            write = rpc.put(name, fields, update_time=read_at, missing=read_at is None)
            try:
                return record, self._commit_one(name, write, rpc)
            except (gexc.FailedPrecondition, gexc.AlreadyExists) as exc:
                last = exc  # written by someone else since our read: decide again
        raise _Contended(self.max_attempts, last)

    def _contended(self, name: str, exc: _Contended, what: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"the {what} was overtaken {exc.attempts} time(s) by concurrent writes (or aborted "
            f"on contention) in {self.where.described}; nothing was written, retry (or raise "
            "max_attempts)",
            lease=name,
            store=self.url,
        )

    # -- primitives -------------------------------------------------------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        docs.document_id(request.name, store=self.url)

        def decide(current: LeaseRecord | None) -> LeaseRecord:
            if not rules.can_acquire(current, request):
                assert current is not None
                raise self._held(request, current)  # decided on the read: nothing written
            return rules.acquired(current, request)

        try:
            record, update_time = self._write_as_read(request.name, decide)
        except _Contended as exc:
            raise self._contended(request.name, exc, "acquire") from None
        return record, FirestoreState(update_time)

    def _write_if_ours(
        self, lease: Lease, change: Callable[[LeaseRecord], LeaseRecord], what: str
    ) -> tuple[LeaseRecord, FirestoreState]:
        """Write ``change(record)`` while the record names ``lease``; _NotOurs otherwise.

        With the update_time of our last write, one commit conditioned on it; when it fails
        (or that update_time is unknown), read: a takeover ends here, a foreign write that kept
        us holding is redone on that read (``_write_as_read``).
        """
        rpc = self._connect()
        state = lease.store_state
        seen = None
        try:
            if isinstance(state, FirestoreState):
                record = change(lease.record)
                fields = docs.encode(record, self.cleanup_after_ms)
                write = rpc.put(lease.name, fields, update_time=state.update_time)
                try:
                    return record, FirestoreState(self._commit_one(lease.name, write, rpc))
                except gexc.FailedPrecondition:
                    seen = self._read(lease.name)  # written since: by a new holder, or not

            def decide(current: LeaseRecord | None) -> LeaseRecord:
                if current is None or not rules.holds(current, lease.holder, lease.token):
                    raise _NotOurs(current)
                return change(current)

            written, update_time = self._write_as_read(lease.name, decide, seen)
        except _Contended as exc:
            raise self._contended(lease.name, exc, what) from None
        return written, FirestoreState(update_time)

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        try:
            return self._write_if_ours(
                lease, lambda record: rules.renewed(record, now_ms, ttl_ms), "renewal"
            )
        except _NotOurs as exc:
            raise self._lost(lease, exc.current) from None

    def _release(self, lease: Lease, now_ms: int) -> bool:
        try:
            self._write_if_ours(lease, lambda record: rules.released(record, now_ms), "release")
        except _NotOurs:
            return False
        return True

    def _get(self, name: str) -> LeaseRecord | None:
        return self._read(name)[0]

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        """After a read-back: the update_time of that read, if it saw exactly ``record``."""
        with self._lock:
            seen = self._seen.pop(record.name, None)
        if seen is not None and seen[0] == record:
            return FirestoreState(seen[1])
        return None  # unknown: the next renew reads first

    def _list(self) -> list[LeaseRecord]:
        rpc = self._connect()
        found = self._request(None, lambda: list(rpc.list()))
        records = []
        for doc in found:
            doc_id = doc.name.rsplit("/", 1)[-1]
            records.append(docs.decode(doc_id, docs.plain_values(doc.fields), where=self.url))
        return records

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        before: list[LeaseRecord] = []

        def decide(current: LeaseRecord | None) -> LeaseRecord:
            if current is None:
                raise _NotOurs(None)
            before.append(current)
            return rules.released(current, now_ms)

        try:
            self._write_as_read(name, decide)
        except _NotOurs:
            return None
        except _Contended as exc:
            raise self._contended(name, exc, "forced release") from None
        return before[-1]

    def delete_record(self, name: str) -> None:
        """Delete the lease document, as a TTL policy or an operator would."""
        rpc = self._connect()
        try:
            self._commit_one(name, rpc.delete(docs.document_id(name, store=self.url)), rpc)
        except _Contended as exc:
            raise self._contended(name, exc, "delete") from None
        except StoreUnavailable as exc:
            if exc.ambiguous:
                raise StoreUnavailable(
                    exc.detail + "; retry the delete", lease=name, store=self.url
                ) from exc
            raise

    # -- fenced writes ----------------------------------------------------------------------

    def fence(self, transaction: firestore.Transaction, lease: Fence) -> LeaseRecord:
        """Inside your transaction: re-read the lease; LeaseLost unless it still names ``lease``
        (holder and token), so a stale holder's transaction writes nothing. See ``fencing``.
        """
        return fencing.fence(self, transaction, lease)
