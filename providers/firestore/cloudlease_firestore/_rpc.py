"""The Firestore RPCs cloudlease makes, one call each, with no hidden retries.

The SDK's high-level ``Transaction`` retries commits by itself (the generated client retries
``Commit`` on UNAVAILABLE, and ``@transactional`` reruns on ABORTED, then rolls back whatever
happened): a commit whose response was lost would be re-sent and come back as "transaction is
invalid or closed", hiding that the first one landed. So cloudlease calls the generated API
(the client's own channel and credentials, emulator included) with ``retry=None`` and its own
timeout, and decides itself which failures are ambiguous and which are retried.

``Rpc`` builds the requests; the store's flows yield them as ``Call(method, (request,))`` and
a driver sends each once: ``send`` on a ``firestore.Client``, ``send_async`` on a
``firestore.AsyncClient`` (a streaming reply comes back as a list either way).

This module is the only place that touches SDK internals (``Client._firestore_api``,
``_rpc_metadata``, ``_database_string``, the same on ``AsyncClient``), all stable since
google-cloud-firestore 2.0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from google.cloud.firestore_v1.types import common, document, query, write
from google.cloud.firestore_v1.types import firestore as firestore_pb

#: The methods whose reply is a stream (sent back to the flow as a list).
STREAMING = frozenset({"batch_get_documents", "run_query"})


class Rpc:
    """The requests on one collection (get, commit, list) and the writes a commit carries."""

    def __init__(self, client: Any, collection: str, timeout: float) -> None:
        """``client``: a ``firestore.Client`` or ``firestore.AsyncClient``."""
        self.api: Any = client._firestore_api
        self.metadata: list[tuple[str, str]] = list(client._rpc_metadata)
        self.database: str = client._database_string
        self.parent = f"{self.database}/documents"
        self.collection = collection
        self.timeout = timeout

    def path(self, doc_id: str) -> str:
        """The full resource name of document ``doc_id``."""
        return f"{self.parent}/{self.collection}/{doc_id}"

    def send(self, method: str, request: Any) -> Any:
        """Send ``request`` once on a sync client."""
        reply = getattr(self.api, method)(
            request=request, metadata=self.metadata, retry=None, timeout=self.timeout
        )
        return list(reply) if method in STREAMING else reply

    async def send_async(self, method: str, request: Any) -> Any:
        """Send ``request`` once on an async client."""
        reply = await getattr(self.api, method)(
            request=request, metadata=self.metadata, retry=None, timeout=self.timeout
        )
        return [response async for response in reply] if method in STREAMING else reply

    def get(self, doc_id: str) -> firestore_pb.BatchGetDocumentsRequest:
        """BatchGetDocuments of one document (strongly consistent)."""
        return firestore_pb.BatchGetDocumentsRequest(
            database=self.database, documents=[self.path(doc_id)]
        )

    @staticmethod
    def found(replies: Sequence[Any]) -> tuple[document.Document | None, Any]:
        """The document a BatchGetDocuments reply found (None when missing), and its read time."""
        read_time = None
        for response in replies:
            read_time = response.read_time
            if firestore_pb.BatchGetDocumentsResponse.pb(response).HasField("found"):
                return response.found, read_time
        return None, read_time

    def commit(self, writes: Sequence[write.Write]) -> firestore_pb.CommitRequest:
        """Commit ``writes`` (outside any transaction: their preconditions decide)."""
        return firestore_pb.CommitRequest(database=self.database, writes=list(writes))

    def query(self) -> firestore_pb.RunQueryRequest:
        """RunQuery over the whole collection."""
        return firestore_pb.RunQueryRequest(
            parent=self.parent,
            structured_query=query.StructuredQuery(
                from_=[query.StructuredQuery.CollectionSelector(collection_id=self.collection)]
            ),
        )

    @staticmethod
    def listed(replies: Sequence[Any]) -> list[document.Document]:
        """The documents of a RunQuery reply."""
        return [
            response.document
            for response in replies
            if firestore_pb.RunQueryResponse.pb(response).HasField("document")
        ]

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
