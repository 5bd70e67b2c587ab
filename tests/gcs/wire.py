"""A requests transport adapter on one storage client: count requests, inject faults.

Every fault acts on the real HTTP exchange with fake-gcs-server: ``lose_response`` sends the
request (the emulator applies it) and then raises a timeout or answers 503 to the caller;
``respond`` answers without sending (nothing is applied): how Cloud Storage's 429 (about one
write per second per object) and 403 are shown, since the emulator has neither.
"""

from __future__ import annotations

import json
from collections import Counter, deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

Deliver = Callable[[], requests.Response]
#: A fault gets the request and a way to really send it; None lets the request through.
Fault = Callable[[requests.PreparedRequest, Deliver], "requests.Response | None"]


def operation(request: requests.PreparedRequest) -> str:
    """What a request does: download, upload, delete, list, get_bucket, create_bucket."""
    path = urlsplit(request.url or "").path
    if path.startswith("/download/"):
        return "download"
    if path.startswith("/upload/"):
        return "upload"
    if "/o/" in path:
        return {"DELETE": "delete", "GET": "metadata"}.get(request.method or "", "object")
    if path.endswith("/o"):
        return "list"
    if path.rstrip("/").endswith("/b"):
        return "create_bucket"
    return "get_bucket"


def error_response(
    request: requests.PreparedRequest, status: int, reason: str
) -> requests.Response:
    """A Cloud Storage JSON API error answer."""
    response = requests.Response()
    response.status_code = status
    response.url = request.url or ""
    response.request = request
    response.headers["Content-Type"] = "application/json; charset=UTF-8"
    message = f"{reason or status} (injected)"
    body = {"error": {"code": status, "message": message, "errors": []}}
    response._content = json.dumps(body).encode()
    return response


class _Adapter(HTTPAdapter):
    def __init__(self, wire: Wire) -> None:
        super().__init__()
        self.wire = wire

    def send(  # type: ignore[override]
        self, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        return self.wire._send(request, lambda: super(_Adapter, self).send(request, **kwargs))


class Wire:
    """Mounted on ``client``'s HTTP session: ``requests`` counts requests per operation."""

    def __init__(self, client: Any, hook: Callable[[str], Fault | None] | None = None) -> None:
        self.requests: Counter[str] = Counter()
        self._faults: dict[str, deque[Fault]] = {}
        self._hook = hook
        self._adapter = _Adapter(self)
        client._http.mount("http://", self._adapter)

    def reset(self) -> None:
        self.requests.clear()

    def _send(self, request: requests.PreparedRequest, deliver: Deliver) -> requests.Response:
        op = operation(request)
        self.requests[op] += 1
        queue = self._faults.get(op)
        fault = queue.popleft() if queue else (self._hook(op) if self._hook else None)
        answer = None if fault is None else fault(request, deliver)
        return deliver() if answer is None else answer

    def inject(self, op: str, fault: Fault, times: int = 1) -> None:
        self._faults.setdefault(op, deque()).extend([fault] * times)

    def lose_response(self, op: str, kind: str = "timeout", times: int = 1) -> None:
        """The request reaches the emulator and is applied; the caller gets ``kind``."""

        def fault(request: requests.PreparedRequest, deliver: Deliver) -> requests.Response:
            deliver()
            if kind == "timeout":
                raise requests.exceptions.ReadTimeout("read timed out (injected)")
            return error_response(request, 503, "backendError")

        self.inject(op, fault, times)

    def respond(self, op: str, status: int, reason: str = "", times: int = 1) -> None:
        """Answer ``op`` with an error without sending it (nothing is applied)."""
        self.inject(op, lambda request, _: error_response(request, status, reason), times)
