"""OpenTelemetry metrics and traces of held leases: the ``otel`` extra (opentelemetry-api only).

::

    from cloudlease import otel

    otel.instrument()  # the global MeterProvider and TracerProvider, or pass your own

Nothing is measured until ``instrument()`` is called, and ``import cloudlease`` never imports
OpenTelemetry. From then on, every held lease of the process (whatever the front door, sync or
async) reports, with the attributes ``cloudlease.lease`` and ``cloudlease.store``:

=====================================  ==========  ==========================================
instrument                             kind        what
=====================================  ==========  ==========================================
``cloudlease.lease.acquisitions``      counter     grants (an elector's elections)
``cloudlease.lease.refusals``          counter     attempts refused: held elsewhere
``cloudlease.lease.renewals``          counter     renewals (late ones included)
``cloudlease.lease.renewal_failures``  counter     failed renewals (retried)
``cloudlease.lease.step_downs``        counter     stopped acting before the local deadline
``cloudlease.lease.losses``            counter     found no longer ours (taken over, gone)
``cloudlease.lease.is_leader``         gauge       1 while this process holds the lease, else 0
``cloudlease.lease.wait``              histogram   seconds from the first attempt to the grant
``cloudlease.store.request.duration``  histogram   seconds per store request (acquire, renew,
                                                   release), with ``cloudlease.operation`` and
                                                   ``error.type`` when it raised
=====================================  ==========  ==========================================

Each store request is also a span (``cloudlease acquire``, ``cloudlease renew`` ...), of kind
CLIENT, with ``cloudlease.lease``, ``cloudlease.holder``, ``cloudlease.store`` and
``cloudlease.token`` (an acquire's once granted); the SDK's own spans (botocore, gRPC ...) nest
inside it.
"""

from __future__ import annotations

import threading
import time
from typing import Any

try:
    from opentelemetry import metrics, trace
except ImportError as missing:  # pragma: no cover - tested in a subprocess without it
    raise ImportError(
        "cloudlease.otel needs the OpenTelemetry API: pip install 'cloudlease[otel]'"
    ) from missing

from cloudlease import __version__, events
from cloudlease.lease import Lease

COUNTERS = {
    events.ACQUIRED: ("cloudlease.lease.acquisitions", "grants of a lease"),
    events.STOLEN: ("cloudlease.lease.acquisitions", "grants of a lease"),
    events.REFUSED: ("cloudlease.lease.refusals", "acquire attempts refused: held elsewhere"),
    events.RENEWED: ("cloudlease.lease.renewals", "renewals of a held lease"),
    events.RENEWED_LATE: ("cloudlease.lease.renewals", "renewals of a held lease"),
    events.RENEW_FAILED: ("cloudlease.lease.renewal_failures", "failed renewals (retried)"),
    events.STEPPED_DOWN: ("cloudlease.lease.step_downs", "stopped acting before the deadline"),
    events.LOST: ("cloudlease.lease.losses", "leases found no longer ours"),
}
#: The transitions that end a tenure (each ends once, with exactly one of them).
ENDINGS = frozenset(
    {
        events.LOST,
        events.STEPPED_DOWN,
        events.RELEASED,
        events.RELEASE_FAILED,
        events.DONE,
        events.DONE_FAILED,
        events.ABANDONED,
    }
)


class Instruments:
    """The instruments of one ``instrument()`` call, fed by ``cloudlease.events``."""

    def __init__(self, meter_provider: Any = None, tracer_provider: Any = None) -> None:
        meter = metrics.get_meter("cloudlease", __version__, meter_provider=meter_provider)
        self.tracer = trace.get_tracer("cloudlease", __version__, tracer_provider=tracer_provider)
        made: dict[str, Any] = {}
        self.counters = {}
        for transition, (name, description) in COUNTERS.items():
            if name not in made:
                made[name] = meter.create_counter(name, unit="1", description=description)
            self.counters[transition] = made[name]
        self.wait = meter.create_histogram(
            "cloudlease.lease.wait", unit="s", description="first attempt to grant"
        )
        self.latency = meter.create_histogram(
            "cloudlease.store.request.duration", unit="s", description="one store request"
        )
        self._held: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        meter.create_observable_gauge(
            "cloudlease.lease.is_leader",
            callbacks=[self._observe_leaders],
            unit="1",
            description="1 while this process holds the lease, else 0",
        )

    def on_transition(self, happened: events.Transition) -> None:
        attributes = {"cloudlease.lease": happened.lease, "cloudlease.store": happened.store}
        counter = self.counters.get(happened.transition)
        if counter is not None:
            counter.add(1, attributes)
        key = (happened.lease, happened.store)
        if happened.transition in (events.ACQUIRED, events.STOLEN):
            self.wait.record(happened.waited or 0.0, attributes)
            with self._lock:
                self._held[key] = self._held.get(key, 0) + 1
        elif happened.transition in ENDINGS:
            with self._lock:  # a lease handed over from another process was not counted here
                self._held[key] = max(self._held.get(key, 0) - 1, 0)

    def _observe_leaders(self, _options: Any) -> list[metrics.Observation]:
        with self._lock:
            held = dict(self._held)
        return [
            metrics.Observation(
                1 if count else 0, {"cloudlease.lease": lease, "cloudlease.store": store}
            )
            for (lease, store), count in sorted(held.items())
        ]

    def request(
        self, method: str, lease: str, holder: str, token: int | None, store: str
    ) -> _Traced:
        return _Traced(self, method, lease, holder, token, store)


class _Traced:
    """One store request: a span around it and its duration in the latency histogram."""

    def __init__(
        self,
        instruments: Instruments,
        method: str,
        lease: str,
        holder: str,
        token: int | None,
        store: str,
    ) -> None:
        self.instruments = instruments
        self.attributes: dict[str, Any] = {
            "cloudlease.lease": lease,
            "cloudlease.store": store,
            "cloudlease.operation": method,
        }
        spanned = {**self.attributes, "cloudlease.holder": holder}
        if token is not None:
            spanned["cloudlease.token"] = token
        self.span = instruments.tracer.start_span(
            f"cloudlease {method}", kind=trace.SpanKind.CLIENT, attributes=spanned
        )
        self.scope = trace.use_span(self.span, end_on_exit=True)

    def __enter__(self) -> _Traced:
        self.started = time.perf_counter()
        self.scope.__enter__()
        return self

    def done(self, result: Any) -> Any:
        if isinstance(result, Lease):
            self.span.set_attribute("cloudlease.token", result.token)
        return result

    def __exit__(self, *exc_info: Any) -> None:
        elapsed = time.perf_counter() - self.started
        error = exc_info[1]
        attributes = dict(self.attributes)
        if error is not None:
            attributes["error.type"] = type(error).__name__
        self.instruments.latency.record(elapsed, attributes)
        self.scope.__exit__(*exc_info)


_current: Instruments | None = None


def instrument(meter_provider: Any = None, tracer_provider: Any = None) -> Instruments:
    """Measure and trace every held lease of this process from now on, on the given
    providers (default: OpenTelemetry's global ones). Calling it again replaces the last."""
    global _current
    uninstrument()
    _current = Instruments(meter_provider, tracer_provider)
    events.add_observer(_current.on_transition)
    events.set_request_hook(_current.request)
    return _current


def uninstrument() -> None:
    """Stop measuring and tracing (the instruments already made stay in their providers)."""
    global _current
    if _current is not None:
        events.remove_observer(_current.on_transition)
        events.set_request_hook(None)
        _current = None
