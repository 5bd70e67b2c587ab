"""The clock offset, measured from DynamoDB's replies (moto's HTTP Date headers)."""

from __future__ import annotations

import time

import pytest

from cloudlease import ClockSkewed, hold
from cloudlease.clock import SystemClock
from tests.dynamodb.conftest import StoreMaker


class SkewedClock(SystemClock):
    """The host's clock, off by ``skew_ms``."""

    def __init__(self, skew_ms: int) -> None:
        self.skew_ms = skew_ms

    def wall_ms(self) -> int:
        return time.time_ns() // 1_000_000 + self.skew_ms


def test_an_in_sync_client_measures_a_small_offset_and_acquires(
    make_http_store: StoreMaker,
) -> None:
    store = make_http_store()
    with hold(store, "job", ttl=10) as held:
        held.ensure()
    offset = store.clock_offset.current()
    assert offset is not None and offset.samples >= 2
    assert offset.low_ms <= 0 <= offset.high_ms  # moto runs on this host's clock
    assert offset.high_ms - offset.low_ms <= 1000 + 1000  # a whole-second Date, plus the trip


def test_a_client_5s_ahead_is_refused_with_the_offset_and_leaves_no_lease(
    make_http_store: StoreMaker,
) -> None:
    store = make_http_store(clock=SkewedClock(5_000))
    with pytest.raises(ClockSkewed, match="off the store's by -") as caught:
        hold(store, "job", ttl=10).__enter__()  # the grant's own reply shows the offset
    assert -6000 < caught.value.offset_ms < -4000
    record = store.get("job")
    assert record is not None and record.holder == ""  # released at once, never acted on
    with pytest.raises(ClockSkewed):
        hold(store, "job", ttl=10).__enter__()  # known now: refused before any request
    assert store.get("job") == record


def test_a_fake_clock_is_never_compared_with_the_server(make_http_store: StoreMaker) -> None:
    from cloudlease.testing import FakeClock

    store = make_http_store(clock=FakeClock())  # months away from moto's real time
    with hold(store, "job", ttl=10):
        pass
    assert store.clock_offset.current() is None
