"""cloudlease store on Google Cloud Firestore: one document per lease, a read and a commit with a
precondition to acquire, precondition writes to renew and release, and fenced writes inside
your own transactions.

    from cloudlease_firestore import FirestoreStore
    store = FirestoreStore("my-project", "cloudlease_leases")
    # or: cloudlease.urls.open_store("firestore://my-project/cloudlease_leases")
"""

from __future__ import annotations

from cloudlease_firestore._documents import FIELDS, TTL_FIELD, document_id, lease_name
from cloudlease_firestore._errors import IAM_ROLE
from cloudlease_firestore._url import from_url
from cloudlease_firestore.store import (
    DEFAULT_CLEANUP_AFTER,
    DEFAULT_COLLECTION,
    DEFAULT_DATABASE,
    FirestoreState,
    FirestoreStore,
)

__version__ = "0.1.0"  # the one version source of this distribution (pyproject reads it)

__all__ = [
    "DEFAULT_CLEANUP_AFTER",
    "DEFAULT_COLLECTION",
    "DEFAULT_DATABASE",
    "FIELDS",
    "IAM_ROLE",
    "TTL_FIELD",
    "FirestoreState",
    "FirestoreStore",
    "document_id",
    "from_url",
    "lease_name",
]
