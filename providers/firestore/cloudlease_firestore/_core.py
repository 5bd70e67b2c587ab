"""``FirestoreCore``: what both sides of the Firestore store share.

The settings, the URL, and every operation written once as a flow of RPCs
(``Call(method, (request,))``, see ``_rpc``): the sync store (``FirestoreStore``, on a
``firestore.Client``) and the async one (``AsyncFirestoreStore``, on a ``firestore.AsyncClient``)
drive the same flows, so they send the same requests and decide the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from google.api_core import exceptions as gexc

from cloudlease import records as rules
from cloudlease._flows import Call, Flow
from cloudlease._remembered import Remembered
from cloudlease._validation import Duration, to_seconds
from cloudlease.errors import CloudLeaseError, ConfigError, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.skew import measures_host_clock
from cloudlease.store import Capabilities, StoreCore
from cloudlease_firestore import _documents as docs
from cloudlease_firestore._client import check_names
from cloudlease_firestore._errors import AMBIGUOUS, Where, is_datastore_mode, translate
from cloudlease_firestore._rpc import Rpc

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from cloudlease._contract import Timing

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


class FirestoreCore(StoreCore):
    """Lease records as documents of one Firestore collection (Native mode): both sides."""

    capabilities = Capabilities(
        round_trips={"acquire": 2, "refused": 1, "renew": 1, "release": 1, "get": 1} | {"steal": 2},
    )
    _rpc: Rpc | None

    def __init__(
        self,
        project: str | None = None,
        collection: str = DEFAULT_COLLECTION,
        *,
        database: str = DEFAULT_DATABASE,
        client: Any = None,
        credentials: Any = None,
        timeout: Duration = 10.0,
        max_attempts: int = 3,
        cleanup_after: Duration = DEFAULT_CLEANUP_AFTER,
        **timing: Unpack[Timing],
    ) -> None:
        super().__init__(**timing)
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
        self._rpc = None
        self._lock = threading.Lock()
        self._seen: Remembered[tuple[LeaseRecord, datetime]] = Remembered()

    # -- identity ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        query = "" if self.database == DEFAULT_DATABASE else f"?database={self.database}"
        return f"firestore://{self.project}/{self.collection}{query}"

    @property
    def where(self) -> Where:
        return Where(
            self.url, self.project or "(from the environment)", self.database, self.collection
        )

    def _made(self, client: Any) -> Rpc:
        """The requests on ``client`` (the store's, or one it just built)."""
        if self._client is None:
            self._client = client
            self.project = self.project or str(client.project)
        self._rpc = Rpc(client, self.collection, self.timeout)
        return self._rpc

    @property
    def rpc(self) -> Rpc:
        """The requests, once a driver has connected (before every flow)."""
        assert self._rpc is not None, "connect before running a flow"
        return self._rpc

    # -- one RPC ----------------------------------------------------------------------------

    def _send(self, method: str, request: Any) -> Flow[Any]:
        """Send ``request`` once; a reply's commit or read time bounds this host's clock offset."""
        sent = self.clock.wall_ms()
        reply = yield Call(method, (request,))
        if measures_host_clock(self.clock):
            stamp = getattr(reply, "commit_time", None)
            if method == "batch_get_documents":
                stamp = Rpc.found(reply)[1]
            if stamp is not None:
                received = self.clock.wall_ms()
                self.clock_offset.observe(stamp.timestamp() * 1000, 0.001, sent, received)
        return reply

    def _request(self, name: str | None, method: str, request: Any) -> Flow[Any]:
        """One request that writes nothing (or surely did not apply): errors are not ambiguous.

        UNAVAILABLE is retried once: gRPC notices a dead connection a moment late, so the call
        right after a reset (typically the read back that settles a lost commit) can be sent on
        it and fail at once; these calls write nothing, and the retry finds a new connection.
        """
        try:
            try:
                return (yield from self._send(method, request))
            except gexc.ServiceUnavailable:
                return (yield from self._send(method, request))
        except CloudLeaseError:
            raise
        except Exception as exc:
            raise translate(exc, self.where, name) from exc

    def _read(self, name: str) -> Flow[tuple[LeaseRecord | None, datetime | None]]:
        """One strongly consistent read: the record and its document's ``update_time``.

        The pair is remembered for ``_state_after_ambiguous`` (a read back after a lost reply).
        """
        replies = yield from self._request(name, "batch_get_documents", self.rpc.get(name))
        found = Rpc.found(replies)[0]
        if found is None:
            return None, None
        record = docs.decode(name, docs.plain_values(found.fields), where=self.url)
        self._seen.put(name, (record, found.update_time))
        update_time: datetime = found.update_time
        return record, update_time

    def _commit_one(self, name: str, write: Any) -> Flow[datetime]:
        """Commit one write; retried on ABORTED, ambiguous on a lost reply.

        A failed precondition (FAILED_PRECONDITION, or ALREADY_EXISTS for ``exists=False``)
        passes through: the document is not the one the write was conditioned on.
        """
        last: Exception | None = None
        for _ in range(self.max_attempts):
            try:
                response = yield from self._send("commit", self.rpc.commit([write]))
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
    ) -> Flow[tuple[LeaseRecord, datetime]]:
        """Read, ``decide``, then commit only if the document is still the one read.

        The commit carries a precondition (``update_time`` of the read, or ``exists=False``
        when there was no document), so nothing is locked and nothing waits: when another
        client wrote in between, the precondition fails, nothing is written, and the record is
        read and decided again (``max_attempts`` rounds). ``decide`` returns the record to
        write or raises to refuse; ``seen`` is a read already made. Returns (record written,
        its update_time).
        """
        last: Exception | None = None
        for _ in range(self.max_attempts):
            current, read_at = seen if seen is not None else (yield from self._read(name))
            seen = None
            record = decide(current)
            fields = docs.encode(record, self.cleanup_after_ms)
            write = self.rpc.put(name, fields, update_time=read_at, missing=read_at is None)
            try:
                return record, (yield from self._commit_one(name, write))
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

    # -- primitives, as flows of RPCs -------------------------------------------------------

    def _acquire_calls(self, request: AcquireRequest) -> Flow[tuple[LeaseRecord, Any]]:
        docs.document_id(request.name, store=self.url)

        def decide(current: LeaseRecord | None) -> LeaseRecord:
            if not rules.can_acquire(current, request):
                assert current is not None
                raise self._held(request, current)  # decided on the read: nothing written
            return rules.acquired(current, request)

        try:
            record, update_time = yield from self._write_as_read(
                request.name, decide, self._stolen_as_read(request)
            )
        except _Contended as exc:
            raise self._contended(request.name, exc, "acquire") from None
        return record, FirestoreState(update_time)

    def _stolen_as_read(
        self, request: AcquireRequest
    ) -> tuple[LeaseRecord | None, datetime | None] | None:
        """For a steal, the stealer's own read (``_steal_flow`` has just made it), if it still
        names the holder and token stolen: the commit is conditioned on its update_time, so a
        steal is 2 requests; a change since that read fails the precondition and is read again."""
        if request.steals is None:
            return None
        seen = self._seen.get(request.name)
        if seen is None or not rules.holds(seen[0], *request.steals):
            return None
        return seen

    def _write_if_ours(
        self, lease: Lease, change: Callable[[LeaseRecord], LeaseRecord], what: str
    ) -> Flow[tuple[LeaseRecord, FirestoreState]]:
        """Write ``change(record)`` while the record names ``lease``; _NotOurs otherwise.

        With the update_time of our last write, one commit conditioned on it; when it fails
        (or that update_time is unknown), read: a takeover ends here, a foreign write that kept
        us holding is redone on that read (``_write_as_read``).
        """
        state = lease.store_state
        seen = None
        try:
            if isinstance(state, FirestoreState):
                record = change(lease.record)
                fields = docs.encode(record, self.cleanup_after_ms)
                write = self.rpc.put(lease.name, fields, update_time=state.update_time)
                try:
                    return record, FirestoreState((yield from self._commit_one(lease.name, write)))
                except gexc.FailedPrecondition:
                    seen = yield from self._read(lease.name)  # written since: by a new holder?

            def decide(current: LeaseRecord | None) -> LeaseRecord:
                if current is None or not rules.holds(current, lease.holder, lease.token):
                    raise _NotOurs(current)
                return change(current)

            written, update_time = yield from self._write_as_read(lease.name, decide, seen)
        except _Contended as exc:
            raise self._contended(lease.name, exc, what) from None
        return written, FirestoreState(update_time)

    def _renew_calls(self, lease: Lease, now_ms: int, ttl_ms: int) -> Flow[tuple[LeaseRecord, Any]]:
        try:
            return (
                yield from self._write_if_ours(
                    lease, lambda record: rules.renewed(record, now_ms, ttl_ms), "renewal"
                )
            )
        except _NotOurs as exc:
            raise self._lost(lease, exc.current) from None

    def _release_calls(self, lease: Lease, now_ms: int) -> Flow[bool]:
        try:
            yield from self._write_if_ours(
                lease, lambda record: rules.released(record, now_ms), "release"
            )
        except _NotOurs:
            return False
        return True

    def _get_calls(self, name: str) -> Flow[LeaseRecord | None]:
        return (yield from self._read(name))[0]

    def _list_calls(self) -> Flow[list[LeaseRecord]]:
        replies = yield from self._request(None, "run_query", self.rpc.query())
        return [
            docs.decode(doc.name.rsplit("/", 1)[-1], docs.plain_values(doc.fields), where=self.url)
            for doc in Rpc.listed(replies)
        ]

    def _force_release_calls(self, name: str, now_ms: int) -> Flow[LeaseRecord | None]:
        before: list[LeaseRecord] = []

        def decide(current: LeaseRecord | None) -> LeaseRecord:
            if current is None:
                raise _NotOurs(None)
            before.append(current)
            return rules.released(current, now_ms)

        try:
            yield from self._write_as_read(name, decide)
        except _NotOurs:
            return None
        except _Contended as exc:
            raise self._contended(name, exc, "forced release") from None
        return before[-1]

    def _delete_calls(self, name: str) -> Flow[None]:
        write = self.rpc.delete(docs.document_id(name, store=self.url))
        try:
            yield from self._commit_one(name, write)
        except _Contended as exc:
            raise self._contended(name, exc, "delete") from None
        except StoreUnavailable as exc:
            if exc.ambiguous:
                raise StoreUnavailable(
                    exc.detail + "; retry the delete", lease=name, store=self.url
                ) from exc
            raise

    def _init_calls(self) -> Flow[None]:
        """Check access by reading one document: Firestore has nothing to create."""
        yield from self._request(None, "batch_get_documents", self.rpc.get("cloudlease-init-check"))

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        """After a read-back: the update_time of that read, if it saw exactly ``record``."""
        seen = self._seen.pop(record.name)
        if seen is not None and seen[0] == record:
            return FirestoreState(seen[1])
        return None  # unknown: the next renew reads first
