"""FencedSink: a resource that accepts a write only with a token at least as new as the last.

Public testing tool; the implementation lives in ``cloudlease._fenced_sink`` because the demo
(production code) writes to one too and production modules do not import ``cloudlease.testing``.
"""

from cloudlease._fenced_sink import FencedSink, SinkWrite, check_fencing

__all__ = ["FencedSink", "SinkWrite", "check_fencing"]
