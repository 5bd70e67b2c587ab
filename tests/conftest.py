"""Shared fixtures: a FakeClock, a fault-injecting store over MemoryStore on it, and the path
and URL of a SQLite store for tests that run the ``cloudlease`` command.

A test asks for ``store`` (and ``clock`` to move time) and never sleeps; a directory or module
that needs another store overrides ``store`` with its own fixture of that name (e.g.
``SQLiteStore(sqlite_path)`` next to ``url``). Helpers a test calls are in ``tests/helpers.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from cloudlease.stores.memory import MemoryStore
from cloudlease.testing import FakeClock, FaultyStore

if TYPE_CHECKING:
    from cloudlease.testing.blocking import Sides


@pytest.fixture
def clock() -> FakeClock:
    """The clock every instant and wait of the test goes through."""
    return FakeClock()


@pytest.fixture
def store(clock: FakeClock) -> FaultyStore:
    """A MemoryStore on ``clock``, wrapped to inject faults and count requests."""
    return FaultyStore(MemoryStore(clock=clock))


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    """A SQLite store's file, fresh for each test."""
    return tmp_path / "leases.db"


@pytest.fixture
def url(sqlite_path: Path) -> str:
    """The store URL of ``sqlite_path``, as the ``cloudlease`` command takes it."""
    return f"sqlite:///{sqlite_path}"


@pytest.fixture(params=["sync", "async"])
def side(request: pytest.FixtureRequest) -> Iterator[Sides]:
    """Each test twice: on the sync side of a store, then on its async side (driven from the
    test through ``BlockingStore``); a ``make_store`` fixture picks its factory with
    ``side.factory(sync, asynchronous)``."""
    from cloudlease.testing.blocking import sides  # asyncio only where a test asks for it

    with sides(request.param) as chosen:
        yield chosen
