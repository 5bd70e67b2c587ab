"""Clock offset from the store's replies: bounds, narrowing, and the refusal beyond the bound."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from cloudlease import ClockSkewed
from cloudlease.records import AcquireRequest, LeaseRecord
from cloudlease.skew import ClockOffset
from cloudlease.stores.memory import MemoryStore
from cloudlease.tenure import Tenure, TimingPolicy
from cloudlease.testing import FakeClock


def test_one_coarse_reply_bounds_the_offset_by_its_resolution_and_round_trip() -> None:
    offset = ClockOffset()
    assert offset.current() is None
    offset.observe(stamp_ms=10_000, resolution_ms=1000, sent_ms=9_400, received_ms=9_500)
    bounds = offset.current()
    assert bounds is not None
    assert (bounds.low_ms, bounds.high_ms) == (500, 1600)


def test_replies_at_different_phases_narrow_the_bounds() -> None:
    offset = ClockOffset()
    true_offset = 250  # the store's clock is 250 ms ahead of ours
    for local in range(0, 5000, 130):  # requests at many phases of the store's second
        server = local + 10 + true_offset  # answered 10 ms after sending
        stamp = server // 1000 * 1000  # an HTTP Date: whole seconds
        offset.observe(stamp, 1000, sent_ms=local, received_ms=local + 20)
    bounds = offset.current()
    assert bounds is not None
    assert bounds.low_ms <= true_offset <= bounds.high_ms
    assert bounds.high_ms - bounds.low_ms < 200


def test_a_clock_step_restarts_the_estimate() -> None:
    offset = ClockOffset()
    offset.observe(1000, 1, sent_ms=1000, received_ms=1001)
    offset.observe(1000, 1, sent_ms=1000 - 60_000, received_ms=1001 - 60_000)  # stepped back
    bounds = offset.current()
    assert bounds is not None and bounds.samples == 1 and bounds.low_ms > 59_000


class StampingStore(MemoryStore):
    """A memory store whose 'server' clock runs ``ahead_ms`` ahead and stamps its replies."""

    def __init__(self, clock: FakeClock, ahead_ms: int) -> None:
        super().__init__(clock=clock, takeover_allowance=1.0, clock_skew_bound=1.0)
        self.ahead_ms = ahead_ms

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        now = self.clock.wall_ms()
        self.clock_offset.observe(now + self.ahead_ms, 1, sent_ms=now, received_ms=now)
        return super()._acquire(request)


def tenure(store: MemoryStore, holder: str = "a") -> Tenure:
    policy = TimingPolicy.for_store(store, lease="job", ttl=10)
    return Tenure(store, "job", policy=policy, holder=holder)


def test_a_client_beyond_the_bound_refuses_to_acquire_naming_the_offset() -> None:
    store = StampingStore(FakeClock(), ahead_ms=-3_000)  # our clock is 3 s fast
    with pytest.raises(ClockSkewed, match=r"off the store.s by -(2\.999|3\.000)s") as caught:
        tenure(store).acquire()  # the grant's own reply shows it: released, refused
    assert caught.value.offset_ms == pytest.approx(-3000, abs=1)
    record = store.get("job")
    assert record is not None and record.holder == ""
    with pytest.raises(ClockSkewed):
        tenure(store).acquire()  # known now: refused before any request
    assert "NTP" in str(caught.value) and "'job'" in str(caught.value)


def test_a_client_over_half_the_bound_acquires_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = StampingStore(FakeClock(), ahead_ms=700)
    with caplog.at_level(logging.WARNING, logger="cloudlease"):
        held = tenure(store).acquire()
        held.release()
        tenure(store).acquire().release()
    assert held.reason == "released"
    warnings = [r for r in caplog.records if "time sync" in r.getMessage()]
    assert len(warnings) == 1  # once a minute, not once per acquire


def test_stores_that_share_the_hosts_clock_never_measure_it() -> None:
    store = MemoryStore(clock=FakeClock())
    tenure(store).acquire().release()
    assert store.clock_offset.current() is None
