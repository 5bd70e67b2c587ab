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

The operations are ``FirestoreCore``'s flows (``_core``), sent here on a ``firestore.Client``;
the async side (``cloudlease_firestore.aio.AsyncFirestoreStore``) sends the same ones on a
``firestore.AsyncClient``.
"""

from __future__ import annotations

from typing import Any

from google.cloud import firestore

from cloudlease._flows import Call, Flow, Step, run
from cloudlease.lease import Fence, Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore
from cloudlease_firestore import _documents as docs
from cloudlease_firestore import fencing
from cloudlease_firestore._client import build_client
from cloudlease_firestore._core import (
    DEFAULT_CLEANUP_AFTER,
    DEFAULT_COLLECTION,
    DEFAULT_DATABASE,
    FirestoreCore,
    FirestoreState,
)
from cloudlease_firestore._rpc import Rpc

__all__ = [
    "DEFAULT_CLEANUP_AFTER",
    "DEFAULT_COLLECTION",
    "DEFAULT_DATABASE",
    "FirestoreState",
    "FirestoreStore",
]


class FirestoreStore(FirestoreCore, BaseStore):
    """Lease records as documents of one Firestore collection (Native mode).

    Pass ``client`` (a ``firestore.Client``), or ``credentials`` to build one; ``timeout``
    bounds each request, ``max_attempts`` the rounds of a contended write, ``cleanup_after``
    how long past expiry the TTL field keeps a record. Its async side is
    ``cloudlease_firestore.aio.AsyncFirestoreStore`` (``open_async_store``).
    """

    @property
    def client(self) -> firestore.Client:
        """The ``firestore.Client`` (built on first use): run fenced transactions on it."""
        self._connect()
        client: firestore.Client = self._client
        return client

    def document(self, name: str) -> firestore.DocumentReference:
        """The document that holds lease ``name``."""
        doc_id = docs.document_id(name, store=self.url)
        return self.client.collection(self.collection).document(doc_id)

    def _connect(self) -> Rpc:
        with self._lock:
            if self._rpc is not None:
                return self._rpc
            client = self._client or build_client(
                firestore.Client, self.project or None, self.database, self._credentials, self.where
            )
            return self._made(client)

    def _run(self, flow: Flow[Any]) -> Any:
        rpc = self._connect()

        def send(step: Step) -> Any:
            assert isinstance(step, Call), step  # Firestore flows never pause
            return rpc.send(step.method, step.args[0])

        return run(flow, send)

    def init(self) -> None:
        """Check access by reading one document: Firestore has nothing to create (idempotent).

        The database must exist in Native mode (the Terraform module or ``gcloud firestore
        databases create``); collections appear with their first document.
        """
        self._run(self._init_calls())

    def close(self) -> None:
        with self._lock:
            if self._rpc is not None and self._owns_client:
                self._rpc.api.transport.close()
                self._client = None
            self._rpc = None

    # -- primitives: FirestoreCore's flows, sent on this thread -----------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        result: tuple[LeaseRecord, Any] = self._run(self._acquire_calls(request))
        return result

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        result: tuple[LeaseRecord, Any] = self._run(self._renew_calls(lease, now_ms, ttl_ms))
        return result

    def _release(self, lease: Lease, now_ms: int) -> bool:
        return bool(self._run(self._release_calls(lease, now_ms)))

    def _get(self, name: str) -> LeaseRecord | None:
        record: LeaseRecord | None = self._run(self._get_calls(name))
        return record

    def _list(self) -> list[LeaseRecord]:
        records: list[LeaseRecord] = self._run(self._list_calls())
        return records

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        record: LeaseRecord | None = self._run(self._force_release_calls(name, now_ms))
        return record

    def delete_record(self, name: str) -> None:
        """Delete the lease document, as a TTL policy or an operator would."""
        self._run(self._delete_calls(name))

    # -- fenced writes ----------------------------------------------------------------------

    def fence(self, transaction: firestore.Transaction, lease: Fence) -> LeaseRecord:
        """Inside your transaction: re-read the lease; LeaseLost unless it still names ``lease``
        (holder and token), so a stale holder's transaction writes nothing. See ``fencing``.
        """
        return fencing.fence(self, transaction, lease)
