"""Public testing tools: FakeClock, fault injection, a fenced sink, the conformance suite.

``cloudlease.testing.conformance.ConformanceSuite`` is imported separately (it needs pytest).
"""

from cloudlease.testing.clock import FakeClock
from cloudlease.testing.faults import FaultyStore
from cloudlease.testing.sink import FencedSink, SinkWrite

__all__ = ["FakeClock", "FaultyStore", "FencedSink", "SinkWrite"]
