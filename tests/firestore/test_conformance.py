"""The core conformance suite on Google's Firestore emulator."""

from __future__ import annotations

from typing import Any

import pytest

from cloudlease.testing.conformance import ConformanceSuite, StoreFactory


class TestFirestoreStore(ConformanceSuite):
    @pytest.fixture
    def make_store(self, make_store: Any) -> StoreFactory:
        factory: StoreFactory = make_store
        return factory
