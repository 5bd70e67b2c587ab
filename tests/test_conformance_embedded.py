"""The conformance suite on the embedded stores, on each side (sync, and async through
``BlockingStore``): one suite, parametrised by the ``side`` fixture."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from cloudlease.store import BaseStore
from cloudlease.stores.aio import AsyncMemoryStore, AsyncSQLiteStore
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing.blocking import Sides
from cloudlease.testing.conformance import ConformanceSuite, StoreFactory

_names = itertools.count()


class TestMemoryStore(ConformanceSuite):
    @pytest.fixture
    def make_store(self, side: Sides) -> StoreFactory:
        shelf = f"conformance-{next(_names)}"

        def make(**options: Any) -> BaseStore:
            return MemoryStore(shelf, **options)

        return side.factory(make, lambda **options: AsyncMemoryStore(shelf, **options))


class TestSQLiteStore(ConformanceSuite):
    @pytest.fixture
    def make_store(self, tmp_path: Path, side: Sides) -> StoreFactory:
        path = tmp_path / "leases.db"

        def make(**options: Any) -> BaseStore:
            return SQLiteStore(path, **options)

        return side.factory(make, lambda **options: AsyncSQLiteStore(path, **options))
