"""gRPC client interceptors for the Firestore tests: count requests, inject faults.

They sit on the real channel to the emulator, so every request the store makes is real; a fault
either replaces a request (it never reaches the emulator) or follows it (the emulator applied
it, then the caller sees an error, as when a response is lost).
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import grpc
from google.cloud import firestore
from google.cloud.firestore_v1.services.firestore import client as gapic_client
from google.cloud.firestore_v1.services.firestore.transports import grpc as gapic_grpc

When = Literal["before", "after"]


class InjectedRpcError(grpc.RpcError):
    """An RPC error as the channel would raise it (the SDK maps it to a google exception)."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self._code = code
        self._details = details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details

    def trailing_metadata(self) -> tuple[()]:
        return ()

    # An outer interceptor (the SDK's own logging one) may treat a failed call as its outcome.
    def result(self, timeout: float | None = None) -> Any:
        raise self

    def __iter__(self) -> InjectedRpcError:
        return self

    def __next__(self) -> Any:
        raise self


@dataclass
class Fault:
    method: str  # short name: "Commit", "BatchGetDocuments", ...
    code: grpc.StatusCode
    details: str
    when: When  # "before": never sent; "after": sent and applied, then the error


class Interceptor(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
):
    """Counts requests by method, injects queued faults and runs queued actions."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()
        self._faults: deque[Fault] = deque()
        self._before: deque[tuple[str, Callable[[], object]]] = deque()
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()

    def fail(
        self, method: str, code: grpc.StatusCode, details: str = "injected", when: When = "before"
    ) -> None:
        """Make the next ``method`` request fail with ``code``."""
        with self._lock:
            self._faults.append(Fault(method, code, details, when))

    def before(self, method: str, action: Callable[[], object]) -> None:
        """Run ``action`` (say, another client's write) just before the next ``method``
        request is sent: a race lost on purpose."""
        with self._lock:
            self._before.append((method, action))

    def _action(self, method: str) -> Callable[[], object] | None:
        with self._lock:
            for queued in self._before:
                if queued[0] == method:
                    self._before.remove(queued)
                    return queued[1]
        return None

    def _take(self, method: str) -> Fault | None:
        with self._lock:
            self.requests[method] += 1
            for fault in self._faults:
                if fault.method == method:
                    self._faults.remove(fault)
                    return fault
        return None

    def _intercept(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        method = details.method.rsplit("/", 1)[-1]
        action = self._action(method)
        if action is not None:
            action()
        fault = self._take(method)
        if fault is None:
            return continuation(details, request)
        if fault.when == "after":
            outcome = continuation(details, request)
            # Drain the call: the server has answered (and applied the request).
            if hasattr(outcome, "result"):
                outcome.result()
            else:
                list(outcome)
        raise InjectedRpcError(fault.code, fault.details)

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return self._intercept(continuation, client_call_details, request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return self._intercept(continuation, client_call_details, request)


class _Counting:
    """``Interceptor``'s counts, faults and actions on a ``grpc.aio`` channel."""

    def __init__(self, interceptor: Interceptor) -> None:
        self.interceptor = interceptor

    async def _intercept(
        self, continuation: Callable[..., Any], details: Any, request: Any, streams: bool
    ) -> Any:
        method = details.method
        method = (method.decode() if isinstance(method, bytes) else method).rsplit("/", 1)[-1]
        action = self.interceptor._action(method)
        if action is not None:
            action()
        fault = self.interceptor._take(method)
        if fault is None:
            return await continuation(details, request)
        if fault.when == "after":
            call = await continuation(details, request)
            # Drain the call: the server has answered (and applied the request).
            if streams:
                _ = [response async for response in call]
            else:
                await call
        empty = grpc.aio.Metadata()
        raise grpc.aio.AioRpcError(fault.code, empty, empty, details=fault.details)


# grpc.aio files an interceptor under its first kind only: one class per kind.
class _CountingUnary(_Counting, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await self._intercept(continuation, client_call_details, request, streams=False)


class _CountingStream(_Counting, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Callable[..., Any], client_call_details: Any, request: Any
    ) -> Any:
        return await self._intercept(continuation, client_call_details, request, streams=True)


def intercepted_async_client(project: str, interceptor: Interceptor) -> firestore.AsyncClient:
    """A firestore.AsyncClient for the emulator (FIRESTORE_EMULATOR_HOST) whose ``grpc.aio``
    channel counts requests into ``interceptor`` and takes its faults and actions; the channel
    is made on first use, on the loop that uses it."""
    counting: list[grpc.aio.ClientInterceptor] = [
        _CountingUnary(interceptor),
        _CountingStream(interceptor),
    ]

    class Counted(firestore.AsyncClient):
        def _emulator_channel(self, transport: Any) -> Any:
            return grpc.aio.insecure_channel(str(self._emulator_host), interceptors=counting)

    return Counted(project=project)


def intercepted_client(host: str, project: str, interceptor: Interceptor) -> firestore.Client:
    """A firestore.Client for the emulator at ``host`` whose channel goes through ``interceptor``.

    The SDK builds its channel lazily; giving it a ready generated client is the documented
    way to control the transport (``FirestoreClient(transport=...)``).
    """
    client = firestore.Client(project=project)
    channel = grpc.intercept_channel(grpc.insecure_channel(host), interceptor)
    transport = gapic_grpc.FirestoreGrpcTransport(host=host, channel=channel)
    client._firestore_api_internal = gapic_client.FirestoreClient(transport=transport)
    return client
