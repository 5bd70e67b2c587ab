"""Fenced writes: make your own Firestore transaction conditional on still holding the lease.

    @firestore.transactional
    def publish(transaction, held):
        store.fence(transaction, held)          # re-reads the lease document in the transaction
        transaction.set(report_ref, {...})      # lands only if the lease is still ours

    with hold(store, "nightly-report") as held:
        publish(store.client.transaction(), held)

The lease document joins the transaction's read set, so Firestore serializes the transaction
with every write of the lease document: a takeover that commits first makes this transaction
abort and rerun, and the rerun raises LeaseLost here. After a takeover the stale holder's
transaction writes nothing.
"""

from __future__ import annotations

from typing import Protocol

from google.api_core import exceptions as gexc
from google.cloud import firestore

from cloudlease import records as rules
from cloudlease.errors import CloudLeaseError, LeaseLost
from cloudlease.lease import Fence, LeaseRecord
from cloudlease_firestore import _documents as docs
from cloudlease_firestore._errors import Where, translate


class LeaseDocuments(Protocol):
    """What a fence needs from the store (a ``FirestoreStore``): where each lease is kept."""

    @property
    def url(self) -> str: ...

    @property
    def where(self) -> Where: ...

    def document(self, name: str) -> firestore.DocumentReference:
        """The document that holds lease ``name``."""
        ...


def fence(store: LeaseDocuments, transaction: firestore.Transaction, lease: Fence) -> LeaseRecord:
    """Re-read the lease in ``transaction``; raise LeaseLost unless it names holder and token.

    Call it before the transaction's writes. ABORTED passes through to the transaction's own
    retry (``@firestore.transactional``); other failures become cloudlease errors.
    """
    ref = store.document(lease.name)
    try:
        snapshot = next(iter(transaction.get(ref)))
    except (CloudLeaseError, gexc.Aborted):
        raise
    except Exception as exc:
        raise translate(exc, store.where, lease.name) from exc
    current = (
        docs.decode(lease.name, snapshot.to_dict() or {}, where=store.url)
        if snapshot.exists
        else None
    )
    if current is None or not rules.holds(current, lease.holder, lease.token):
        what = (
            "the record is gone"
            if current is None
            else "the lease was released"
            if current.holder == ""
            else f"now held by {current.holder!r} with token {current.token}"
        )
        raise LeaseLost(
            f"fenced write refused: token {lease.token} of {lease.holder!r} is no longer "
            f"valid ({what}); nothing was written, acquire again",
            lease=lease.name,
            store=store.url,
        )
    return current
