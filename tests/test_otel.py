"""The ``otel`` extra: the numbers the OpenTelemetry SDK's in-memory reader and span exporter
see after a scripted election and failover on a FakeClock (needs the dev group: not among the
core tests of scripts/pythons.sh; test_otel_import.py is)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    InMemoryMetricReader,
    NumberDataPoint,
)
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cloudlease import LeaderElector, LeaseHeld, hold, otel
from cloudlease.events import UNOBSERVED, request
from cloudlease.testing import FakeClock, FaultyStore
from tests.helpers import eventually

TTL = 9.0


@dataclass
class Telemetry:
    reader: InMemoryMetricReader
    spans: InMemorySpanExporter

    def numbers(self) -> dict[tuple[str, str], float]:
        """Per (instrument, lease or operation[:error]): a sum, a gauge's value, or a
        histogram's count."""
        found: dict[tuple[str, str], float] = {}
        data = self.reader.get_metrics_data()
        assert data is not None
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.data.data_points:
                        attrs = point.attributes or {}
                        key = str(attrs.get("cloudlease.operation", attrs["cloudlease.lease"]))
                        if "error.type" in attrs:
                            key += ":" + str(attrs["error.type"])
                        value = point.value if isinstance(point, NumberDataPoint) else point.count
                        found[(metric.name.removeprefix("cloudlease."), key)] = value
        return found

    def wait_sum(self) -> float:
        data = self.reader.get_metrics_data()
        assert data is not None
        metrics = data.resource_metrics[0].scope_metrics[0].metrics
        [wait] = [m for m in metrics if m.name == "cloudlease.lease.wait"]
        [point] = wait.data.data_points
        assert isinstance(point, HistogramDataPoint)
        return point.sum


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    reader = InMemoryMetricReader()
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    otel.instrument(MeterProvider(metric_readers=[reader]), tracer_provider)
    try:
        yield Telemetry(reader, spans)
    finally:
        otel.uninstrument()


def test_an_election_and_a_failover_are_counted_measured_and_traced(
    store: FaultyStore, clock: FakeClock, telemetry: Telemetry
) -> None:
    a = hold(store, "leader", ttl=TTL, holder="a", renewal="manual").acquire()
    b = hold(store, "leader", ttl=TTL, holder="b", renewal="manual")
    with pytest.raises(LeaseHeld):
        b.try_acquire()  # the election: a leads, b is refused
    refused_at = clock.monotonic()
    assert telemetry.numbers()[("lease.is_leader", "leader")] == 1
    clock.advance(TTL / 3)
    assert a.step()  # renewed
    store.transient_rate = 1.0  # a is cut off from its store: every request fails
    before = store.requests["renew"]
    while a.step():
        clock.advance(max(a.next_wakeup() - clock.monotonic(), 0.001))
    failed = store.requests["renew"] - before
    store.transient_rate = 0.0
    assert failed >= 2 and a.reason is not None and "stepped down" in a.reason
    assert telemetry.numbers()[("lease.is_leader", "leader")] == 0
    clock.advance(2.0)  # past a's expiry and the skew allowance: the failover
    b.acquire()
    store.force_release("leader")
    c = hold(store, "leader", ttl=TTL, holder="c", renewal="manual").acquire()
    clock.advance(TTL / 3)
    assert not b.step()  # b finds c holding: lost
    c.release()

    per_lease = {"acquisitions": 3, "refusals": 1, "renewals": 1, "renewal_failures": failed,
                 "step_downs": 1, "losses": 1, "is_leader": 0, "wait": 3}  # fmt: skip
    per_request = {"acquire": 3, "acquire:LeaseHeld": 1, "renew": 1, "release": 1,
                   "renew:StoreUnavailable": failed, "renew:LeaseLost": 1}  # fmt: skip
    assert telemetry.numbers() == {
        **{("lease." + name, "leader"): n for name, n in per_lease.items()},
        **{("store.request.duration", what): n for what, n in per_request.items()},
    }
    assert telemetry.wait_sum() == pytest.approx(clock.monotonic() - TTL / 3 - refused_at)
    spans = telemetry.spans.get_finished_spans()
    assert [span.name for span in spans][:3] == [
        "cloudlease acquire",
        "cloudlease acquire",
        "cloudlease renew",
    ]
    assert len(spans) == 3 + 1 + 1 + failed + 1 + 1
    first = spans[0].attributes or {}
    assert (first["cloudlease.lease"], first["cloudlease.holder"], first["cloudlease.token"]) == (
        "leader",
        "a",
        a.token,
    )
    assert "cloudlease.token" not in (spans[1].attributes or {})  # refused: no grant
    assert not spans[1].status.is_ok
    assert (spans[2].attributes or {})["cloudlease.token"] == a.token


def test_uninstrument_stops_measuring(store: FaultyStore, telemetry: Telemetry) -> None:
    with hold(store, "job", ttl=TTL, holder="a"):
        pass
    otel.uninstrument()
    assert request("acquire", "job", "a", None, store.url) is UNOBSERVED
    with hold(store, "job", ttl=TTL, holder="a"):
        pass
    assert telemetry.numbers()[("lease.acquisitions", "job")] == 1
    assert len(telemetry.spans.get_finished_spans()) == 2


def test_two_electors_hand_over_and_the_gauge_follows_the_leader(
    store: FaultyStore, clock: FakeClock, telemetry: Telemetry
) -> None:
    a = LeaderElector(store, "leader", ttl=TTL, retry_period=2.0, holder="a").start()
    eventually(lambda: a.is_leader)
    b = LeaderElector(store, "leader", ttl=TTL, retry_period=2.0, holder="b").start()
    try:
        eventually(lambda: b.leader == "a")  # b's first campaign was refused
        assert telemetry.numbers()[("lease.is_leader", "leader")] == 1
        a.resign()
        assert telemetry.numbers()[("lease.is_leader", "leader")] == 0
        clock.wait_for_sleepers(1)
        clock.advance(clock.next_deadline() or 0)
        eventually(lambda: b.is_leader)
        numbers = telemetry.numbers()
    finally:
        a.resign()
        b.resign()
    assert numbers[("lease.acquisitions", "leader")] == 2
    assert numbers[("lease.refusals", "leader")] >= 1
    assert numbers[("lease.is_leader", "leader")] == 1
    assert ("lease.losses", "leader") not in numbers  # a resigned: released, not lost
    assert telemetry.numbers()[("lease.is_leader", "leader")] == 0


def test_a_steal_is_counted_as_an_acquisition_and_the_gauge_follows_the_stealer(
    store: FaultyStore, clock: FakeClock, telemetry: Telemetry
) -> None:
    a = hold(store, "job", ttl=TTL, holder="a", renewal="manual").acquire()
    b = hold(store, "job", ttl=TTL, holder="b", renewal="manual")
    b.steal()
    clock.advance(TTL / 3)
    assert not a.step()  # a's renewal is refused: it steps down
    numbers = telemetry.numbers()
    assert numbers[("lease.is_leader", "job")] == 1  # b, in this process
    assert (numbers[("lease.acquisitions", "job")], numbers[("lease.losses", "job")]) == (2, 1)
    b.release()
    assert telemetry.numbers()[("lease.is_leader", "job")] == 0
    spans = [span.name for span in telemetry.spans.get_finished_spans()]
    assert spans == [
        "cloudlease acquire",
        "cloudlease steal",
        "cloudlease renew",
        "cloudlease release",
    ]
