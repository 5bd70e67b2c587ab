"""The clock offset, measured from the Firestore emulator's commit and read times."""

from __future__ import annotations

import time
from typing import Any

import pytest

from cloudlease import ClockSkewed, hold
from cloudlease.clock import SystemClock


class SkewedClock(SystemClock):
    """The host's clock, off by ``skew_ms``."""

    def __init__(self, skew_ms: int) -> None:
        self.skew_ms = skew_ms

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.skew_ms


def test_an_in_sync_client_measures_a_narrow_offset(make_store: Any) -> None:
    store = make_store()
    with hold(store, "job", ttl=10) as held:
        held.ensure()
    offset = store.clock_offset.current()
    assert offset is not None and offset.samples >= 2
    assert offset.low_ms <= 0 <= offset.high_ms  # the emulator runs on this host's clock
    assert offset.high_ms - offset.low_ms < 1000  # microsecond stamps: the trip bounds it


def test_a_client_5s_ahead_is_refused_with_the_offset_and_leaves_no_lease(
    make_store: Any,
) -> None:
    store = make_store(clock=SkewedClock(5_000))
    with pytest.raises(ClockSkewed, match="off the store's by -") as caught:
        hold(store, "job", ttl=10).__enter__()
    assert -6000 < caught.value.offset_ms < -4000
    record = store.get("job")
    assert record is not None and record.holder == ""
