"""The core conformance suite on Google's Firestore emulator, on both sides of the store."""

from __future__ import annotations

from typing import Any

import pytest

from cloudlease.lease import Lease
from cloudlease.store import BaseStore
from cloudlease.testing.conformance import ConformanceSuite, StoreFactory, SyncFencedWrites
from cloudlease_firestore import FirestoreStore


class TestFirestoreStore(SyncFencedWrites, ConformanceSuite):
    @pytest.fixture
    def make_store(self, make_either: Any) -> StoreFactory:
        factory: StoreFactory = make_either
        return factory

    def fenced_write(self, store: BaseStore, lease: Lease) -> None:
        """A transaction that fences with ``store.fence`` and writes a document of its own."""
        from google.cloud import firestore

        assert isinstance(
            store, FirestoreStore
        )  # fenced writes are the sync store's (docs/async.md)
        target = store.client.collection(f"{store.collection}-sink").document("report")

        @firestore.transactional
        def write(transaction: firestore.Transaction) -> None:
            store.fence(transaction, lease)
            transaction.set(target, {"token": lease.token})

        write(store.client.transaction())
