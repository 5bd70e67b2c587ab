"""Fenced writes: make your own Firestore transaction conditional on still holding the lease.

    @firestore.transactional
    def publish(transaction, held):
        store.fence(transaction, held)          # re-reads the lease document in the transaction
        transaction.set(report_ref, {...})      # lands only if the lease is still ours

    with hold(store, "nightly-report") as held:
        publish(store.client.transaction(), held)

The lease document joins the transaction's read set, so Firestore serializes the transaction
with every acquire: a takeover that commits first makes this transaction abort and rerun, and
the rerun raises LeaseLost here. After a takeover the stale holder's transaction writes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from google.api_core import exceptions as gexc
from google.cloud import firestore

from cloudlease import records as rules
from cloudlease.errors import CloudLeaseError, LeaseLost
from cloudlease.lease import LeaseRecord
from cloudlease_firestore import _documents as docs
from cloudlease_firestore._errors import translate

if TYPE_CHECKING:
    from cloudlease_firestore.store import FirestoreStore


class LeaseLike(Protocol):
    """A ``Lease`` or a ``hold()`` block's ``HeldLease``."""

    @property
    def name(self) -> str: ...

    @property
    def holder(self) -> str: ...

    @property
    def token(self) -> int: ...


def fence(
    store: FirestoreStore, transaction: firestore.Transaction, lease: LeaseLike
) -> LeaseRecord:
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
