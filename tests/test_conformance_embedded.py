"""The conformance suite on the embedded stores."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from cloudlease.store import BaseStore
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing.conformance import ConformanceSuite, StoreFactory

_names = itertools.count()


class TestMemoryStore(ConformanceSuite):
    @pytest.fixture
    def make_store(self) -> StoreFactory:
        shelf = f"conformance-{next(_names)}"

        def make(**options: Any) -> BaseStore:
            return MemoryStore(shelf, **options)

        return make


class TestSQLiteStore(ConformanceSuite):
    @pytest.fixture
    def make_store(self, tmp_path: Path) -> StoreFactory:
        def make(**options: Any) -> BaseStore:
            return SQLiteStore(tmp_path / "leases.db", **options)

        return make
