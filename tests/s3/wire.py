"""Botocore event hooks on one S3 client: count requests, inject faults at the transport.

``lose_response`` sends the request (moto applies it) and then raises a timeout / reset or
answers 500 to the caller; ``respond`` answers an S3 error without sending (nothing applied):
how real S3's 409 ConditionalRequestConflict, 503 SlowDown and 403 AccessDenied are shown.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterator
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders
from botocore.exceptions import ConnectionClosedError, ReadTimeoutError

Fault = Callable[[AWSPreparedRequest], AWSResponse | None]


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def s3_error(request: AWSPreparedRequest, status: int, code: str) -> AWSResponse:
    """An S3 error answer, as the service sends it (XML body)."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{code} (injected)</Message><RequestId>injected</RequestId></Error>"
    )
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/xml"
    headers["x-amz-request-id"] = "injected"
    return AWSResponse(request.url, status, headers, _Body(body.encode()))


class Wire:
    """Hooks on ``client``: ``requests`` counts HTTP attempts per operation (e.g. PutObject)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests: Counter[str] = Counter()
        self._faults: dict[str, deque[Fault]] = {}
        client.meta.events.register("before-send.s3", self._before_send)

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
            return s3_error(request, 500, "InternalError")

        self.inject(operation, fault, times)

    def respond(self, operation: str, code: str, status: int, times: int = 1) -> None:
        """Answer ``operation`` with an S3 error without sending it (nothing is applied)."""
        self.inject(operation, lambda request: s3_error(request, status, code), times)
