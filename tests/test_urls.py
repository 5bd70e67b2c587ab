"""open_store(): schemes through entry points, the CLOUDLEASE_STORE default, clear refusals."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from cloudlease import ConfigError, installed_schemes, open_store
from cloudlease.stores.memory import MemoryStore
from cloudlease.stores.sqlite import SQLiteStore
from cloudlease.testing import FakeClock


def test_embedded_schemes_open_their_stores(tmp_path: Path) -> None:
    assert isinstance(open_store("memory://"), MemoryStore)
    store = open_store(f"sqlite:///{tmp_path / 'x.db'}?table=my_leases&timeout=2")
    assert isinstance(store, SQLiteStore)
    assert (store.path, store.table, store.busy_timeout) == (tmp_path / "x.db", "my_leases", 2.0)


def test_relative_and_absolute_sqlite_paths() -> None:
    relative = open_store("sqlite:///leases.db")
    absolute = open_store("sqlite:////var/tmp/leases.db")
    assert isinstance(relative, SQLiteStore) and isinstance(absolute, SQLiteStore)
    assert str(relative.path) == "leases.db"
    assert str(absolute.path) == "/var/tmp/leases.db"


def test_named_memory_stores_share_records_in_process() -> None:
    one, two = open_store("memory://shared-x"), open_store("memory://shared-x")
    one.acquire("job", "a", 10)
    record = two.get("job")
    assert record is not None and record.holder == "a"
    assert open_store("memory://other-x").get("job") is None


def test_options_reach_the_store() -> None:
    clock = FakeClock()
    store = open_store("memory://", clock=clock, takeover_allowance=0.5)
    assert store.clock is clock and store.takeover_allowance == 0.5


def test_cloudlease_store_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDLEASE_STORE", "memory://from-env")
    assert open_store().url == "memory://from-env"
    monkeypatch.delenv("CLOUDLEASE_STORE")
    with pytest.raises(ConfigError, match="CLOUDLEASE_STORE"):
        open_store()


def test_installed_schemes_include_the_embedded_ones_and_the_providers() -> None:
    schemes = installed_schemes()
    assert {"memory", "sqlite"} <= set(schemes)
    assert {"dynamodb", "firestore", "azblob"} <= set(schemes)  # the workspace installs all


def test_unknown_scheme_names_the_installed_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError) as caught:
        open_store("redis://localhost")
    message = str(caught.value)
    assert "no store is installed for scheme 'redis'" in message
    assert "memory" in message and "sqlite" in message


def test_a_known_provider_that_is_not_installed_names_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from cloudlease import urls

    monkeypatch.setattr(urls, "_installed", lambda group="": dict(urls._BUILTIN))
    monkeypatch.setitem(sys.modules, "cloudlease_dynamodb", None)  # import fails: not installed
    with pytest.raises(ConfigError, match=r"install cloudlease\[dynamodb\]"):
        open_store("dynamodb://table")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("", "cannot parse store URL"),
        ("memory", "cannot parse store URL"),
        ("://x", "cannot parse store URL"),
        ("memory://name/path", "cannot parse memory store URL"),
        ("sqlite://host/x.db", "cannot parse SQLite store URL"),
        ("sqlite:///x.db?table=bad-name", "invalid table name"),
        ("sqlite:///x.db?timeout=soon", "not a number"),
    ],
)
def test_unparsable_urls_are_refused(url: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        open_store(url)
