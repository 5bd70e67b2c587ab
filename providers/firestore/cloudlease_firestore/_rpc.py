"""The Firestore RPCs cloudlease makes, one call each, with no hidden retries.

The SDK's high-level ``Transaction`` retries commits by itself (the generated client retries
``Commit`` on UNAVAILABLE, and ``@transactional`` reruns on ABORTED, then rolls back whatever
happened): a commit whose response was lost would be re-sent and come back as "transaction is
invalid or closed", hiding that the first one landed. So cloudlease calls the generated API
(the client's own channel and credentials, emulator included) with ``retry=None`` and its own
timeout, and decides itself which failures are ambiguous and which are retried.

This module is the only place that touches SDK internals (``Client._firestore_api``,
``_rpc_metadata``, ``_database_string``), all stable since google-cloud-firestore 2.0.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from google.cloud import firestore
from google.cloud.firestore_v1.types import common, document, query, write
from google.cloud.firestore_v1.types import firestore as firestore_pb


class Rpc:
    """Get, commit and list on one collection, each a single request."""

    def __init__(
        self,
        client: firestore.Client,
        collection: str,
        timeout: float,
        stamps: Callable[[Any, float, float], None] | None = None,
        now_ms: Callable[[], float] = lambda: time.time() * 1000,
    ) -> None:
        """``stamps(server_time, sent_ms, received_ms)``, when given, is told the server's
        time of each reply that carries one (commit and read times) with the instants, on
        ``now_ms``, at which the request was sent and answered."""
        self.stamps = stamps
        self.now_ms = now_ms
        self.api: Any = client._firestore_api
        self.metadata: list[tuple[str, str]] = list(client._rpc_metadata)
        self.database: str = client._database_string
        self.parent = f"{self.database}/documents"
        self.collection = collection
        self.timeout = timeout

    def path(self, doc_id: str) -> str:
        """The full resource name of document ``doc_id``."""
        return f"{self.parent}/{self.collection}/{doc_id}"

    def _call(self, method: str, request: Any) -> Any:
        return getattr(self.api, method)(
            request=request, metadata=self.metadata, retry=None, timeout=self.timeout
        )

    def get(self, doc_id: str) -> document.Document | None:
        """BatchGetDocuments of one document (strongly consistent), or None when missing."""
        request = firestore_pb.BatchGetDocumentsRequest(
            database=self.database, documents=[self.path(doc_id)]
        )
        sent = self.now_ms()
        for response in self._call("batch_get_documents", request):
            self._stamp(response.read_time, sent)
            if firestore_pb.BatchGetDocumentsResponse.pb(response).HasField("found"):
                found: document.Document = response.found
                return found
        return None

    def commit(self, writes: Sequence[write.Write]) -> firestore_pb.CommitResponse:
        """Commit ``writes`` (outside any transaction: their preconditions decide), once."""
        request = firestore_pb.CommitRequest(database=self.database, writes=list(writes))
        sent = self.now_ms()
        response: firestore_pb.CommitResponse = self._call("commit", request)
        self._stamp(response.commit_time, sent)
        return response

    def _stamp(self, server_time: Any, sent_ms: float) -> None:
        if self.stamps is not None and server_time is not None:
            self.stamps(server_time, sent_ms, self.now_ms())

    def list(self) -> Iterator[document.Document]:
        """RunQuery over the whole collection."""
        request = firestore_pb.RunQueryRequest(
            parent=self.parent,
            structured_query=query.StructuredQuery(
                from_=[query.StructuredQuery.CollectionSelector(collection_id=self.collection)]
            ),
        )
        for response in self._call("run_query", request):
            if firestore_pb.RunQueryResponse.pb(response).HasField("document"):
                yield response.document

    def put(
        self,
        doc_id: str,
        fields: dict[str, document.Value],
        *,
        update_time: Any = None,
        missing: bool = False,
    ) -> write.Write:
        """A write replacing document ``doc_id``, on the precondition that it was last written
        at ``update_time`` (FAILED_PRECONDITION otherwise) or, with ``missing``, that it does
        not exist (ALREADY_EXISTS otherwise)."""
        replace = write.Write(update=document.Document(name=self.path(doc_id), fields=fields))
        if update_time is not None:
            replace.current_document = common.Precondition(update_time=update_time)
        elif missing:
            replace.current_document = common.Precondition(exists=False)
        return replace

    def delete(self, doc_id: str) -> write.Write:
        """A write deleting document ``doc_id``."""
        return write.Write(delete=self.path(doc_id))
