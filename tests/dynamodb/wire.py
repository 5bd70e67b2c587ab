"""Botocore event hooks on one client: count requests, inject faults at the transport.

Every fault acts on the real HTTP exchange with moto: ``lose_response`` sends the request (moto
applies it) and then raises a timeout / connection reset, or answers 5xx, to the caller;
``respond`` answers without sending (a throttle, an expired token: nothing is applied).
"""

from __future__ import annotations

import json
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


def error_response(request: AWSPreparedRequest, status: int, code: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code})
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = "injected"
    return AWSResponse(request.url, status, headers, _Body(body.encode()))


def json_response(request: AWSPreparedRequest, payload: dict[str, Any]) -> AWSResponse:
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = "injected"
    return AWSResponse(request.url, 200, headers, _Body(json.dumps(payload).encode()))


class Wire:
    """Hooks on ``client``: ``requests`` counts HTTP attempts per operation (e.g. UpdateItem)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests: Counter[str] = Counter()
        self._faults: dict[str, deque[Fault]] = {}
        client.meta.events.register("before-send.dynamodb", self._before_send)

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
            return error_response(request, 500, "InternalServerError")

        self.inject(operation, fault, times)

    def respond(self, operation: str, code: str, status: int = 400, times: int = 1) -> None:
        """Answer ``operation`` with an error without sending it (nothing is applied)."""
        self.inject(operation, lambda request: error_response(request, status, code), times)
