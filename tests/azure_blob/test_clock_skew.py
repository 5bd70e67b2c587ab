"""The clock offset, measured from Azurite's replies (HTTP Date headers), when the store
builds its own client from the URL and the connection string."""

from __future__ import annotations

import time

import pytest

from cloudlease import ClockSkewed, hold
from cloudlease.clock import SystemClock
from cloudlease_azure_blob import AzureBlobStore
from tests.azure_blob.azurite import Azurite


class SkewedClock(SystemClock):
    """The host's clock, off by ``skew_ms``."""

    def __init__(self, skew_ms: int) -> None:
        self.skew_ms = skew_ms

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.skew_ms


@pytest.fixture
def open_store(
    azurite: Azurite, container: str, monkeypatch: pytest.MonkeyPatch
) -> type[AzureBlobStore]:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    return AzureBlobStore


def test_an_in_sync_client_measures_a_small_offset(
    open_store: type[AzureBlobStore], azurite: Azurite, container: str
) -> None:
    store = open_store(azurite.url(container))
    with hold(store, "job", ttl=15) as held:
        held.ensure()
    offset = store.clock_offset.current()
    assert offset is not None and offset.samples >= 3
    assert offset.low_ms <= 0 <= offset.high_ms


def test_a_client_5s_behind_is_refused_with_the_offset_and_leaves_no_lease(
    open_store: type[AzureBlobStore], azurite: Azurite, container: str
) -> None:
    store = open_store(azurite.url(container), clock=SkewedClock(-5_000))
    with pytest.raises(ClockSkewed, match=r"off the store's by \+") as caught:
        hold(store, "job", ttl=15).__enter__()
    assert 4000 < caught.value.offset_ms < 6000
    record = store.get("job")
    assert record is None or record.holder == ""
