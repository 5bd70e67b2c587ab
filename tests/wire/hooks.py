"""Botocore event hooks on one client: count requests, inject faults at the transport.

Every fault acts on the real HTTP exchange with moto: ``lose_response`` sends the request (moto
applies it) and then raises a timeout / connection reset, or answers 5xx, to the caller;
``respond`` answers an error without sending (a throttle, an expired token: nothing is
applied). A service's module (``tests/dynamodb/wire.py``, ``tests/s3/wire.py``) says how its
errors look.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

Fault = Callable[[AWSPreparedRequest], AWSResponse | None]


class Body:
    """A raw body botocore can stream, for an answer made up in the test."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class BotocoreWire:
    """Hooks on ``client``: ``requests`` counts HTTP attempts per operation (e.g. UpdateItem)."""

    #: The service's name in botocore's events ("dynamodb", "s3").
    service: ClassVar[str]
    #: The error code the service answers a 500 with.
    internal_error: ClassVar[str]

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests: Counter[str] = Counter()
        self._faults: dict[str, deque[Fault]] = {}
        client.meta.events.register(f"before-send.{self.service}", self._before_send)

    @staticmethod
    def error(request: AWSPreparedRequest, status: int, code: str) -> AWSResponse:
        """The service's error answer to ``request``."""
        raise NotImplementedError

    def reset(self) -> None:
        self.requests.clear()

    def _before_send(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> Any:
        operation = event_name.rsplit(".", 1)[-1]
        self.requests[operation] += 1
        queue = self._faults.get(operation)
        if queue:
            return queue.popleft()(request)
        return None

    def inject(self, operation: str, fault: Fault, times: int = 1) -> None:
        self._faults.setdefault(operation, deque()).extend([fault] * times)

    def deliver(self, request: AWSPreparedRequest) -> AWSResponse:
        """Send ``request`` to moto for real (it is applied)."""
        response: AWSResponse = self.client._endpoint.http_session.send(request)
        return response

    def lose_response(self, operation: str, kind: str = "timeout", times: int = 1) -> None:
        """The request reaches moto and is applied; the caller gets ``kind`` instead."""

        def fault(request: AWSPreparedRequest) -> AWSResponse:
            self.deliver(request)
            if kind == "timeout":
                raise ReadTimeoutError(endpoint_url=request.url)
            if kind == "reset":
                raise ConnectionClosedError(endpoint_url=request.url)
            return self.error(request, 500, self.internal_error)

        self.inject(operation, fault, times)

    def respond(self, operation: str, code: str, status: int = 400, times: int = 1) -> None:
        """Answer ``operation`` with an error without sending it (nothing is applied)."""
        self.inject(operation, lambda request: self.error(request, status, code), times)
