"""A small TCP fault proxy between an SDK and an emulator, for faults at the wire.

``FaultProxy(upstream_port)`` listens on a free loopback port and runs its own event loop in a
background thread; point the SDK at ``proxy.url`` (HTTP/1.1: moto, Azurite) or
``proxy.address`` (``http2=True``: gRPC to the Firestore emulator). Faults are armed per test
and fire on the ``nth`` request that ``match`` accepts (counted from when the fault is armed),
then on the next ``times - 1`` matching requests; a test asserts ``fault.fired`` (requests it
took on) or ``fault.answered`` (of those, the ones the server had answered, so applied, when
the fault acted), so a fault that never triggered cannot pass silently. Actions:

``drop``          forward the request, wait for the server's whole reply, then close the client's
                  connection instead of forwarding it: the server applied it, the client never
                  heard. (HTTP/2: every stream on the channel dies with it.)
``reset``         the same, but the client's connection is reset (RST, via SO_LINGER 0).
``reset_request`` reset the client's connection before the request is forwarded: nothing applied.
``delay``         forward the reply ``seconds`` after the server sent it; ``math.inf`` holds it
                  until the client gives up (closes, or cancels the HTTP/2 stream).
``reset_stream``  HTTP/2 only: answer the stream with RST_STREAM(INTERNAL_ERROR) instead of the
                  server's reply; the connection and its other streams live on.

HTTP/1.1 is parsed (``framing``) only as far as the reply boundary needs (request line, headers,
Content-Length or chunked bodies; clients here do not pipeline). HTTP/2 is read as frames (a
9-byte header: length, type, flags, stream id): the connection preface and SETTINGS pass
through, a request is a client HEADERS block on a new stream, and a matched stream's response
frames are held until its END_STREAM before the fault acts. HPACK is not decoded: the server's
SETTINGS are rewritten to a header table size of 0, so the client's encoder (gRPC's sends
paths as plain literals) repeats the path in every request, and ``Request.target`` finds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import socket
import struct
import threading
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlsplit

from tests.wire import framing as wire

Action = Literal["drop", "reset", "reset_request", "delay", "reset_stream"]
Match = Callable[["Request"], bool]
T = TypeVar("T")

_GRPC_PATH = re.compile(rb"/[A-Za-z0-9_.]+/[A-Za-z0-9_]+")


@dataclass(frozen=True)
class Request:
    """One request as the proxy saw it. HTTP/2: ``target`` is the gRPC path, ``raw`` the block."""

    method: str
    target: str
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    raw: bytes = b""

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def query(self, key: str) -> str:
        return parse_qs(urlsplit(self.target).query).get(key, [""])[0]


def anything(request: Request) -> bool:
    return True


def header(name: str, value: str) -> Match:
    """Requests whose header ``name`` equals ``value``, e.g. X-Amz-Target of UpdateItem."""
    return lambda request: request.header(name) == value


def grpc_method(name: str) -> Match:
    """gRPC requests to method ``name`` (``Commit``, ``BatchGetDocuments``, ...)."""
    return lambda request: request.target.rsplit("/", 1)[-1] == name


@dataclass
class Fault:
    """An armed fault. ``seen`` counts matching requests, ``fired`` those it took on, and
    ``answered`` those the server had answered (so had applied) when the fault acted on them."""

    action: Action
    match: Match
    nth: int = 1
    times: int = 1
    seconds: float = 0.0
    seen: int = 0
    fired: int = 0
    answered: int = 0


class _Closed(Exception):
    """The proxied connection is over (a fault ended it, or a peer closed)."""


class FaultProxy:
    """A loopback TCP proxy to ``127.0.0.1:upstream_port`` with faults armed per test."""

    def __init__(self, upstream_port: int, *, http2: bool = False, host: str = "127.0.0.1"):
        self.upstream = (host, upstream_port)
        self.http2 = http2
        self.requests: list[Request] = []
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    # -- control, from the test's thread --------------------------------------------------

    def start(self) -> FaultProxy:
        self._thread.start()
        server = self._call(asyncio.start_server(self._accept, "127.0.0.1", 0))
        self._server = server
        self.port = server.sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Close the listener and every connection, then end the loop and its thread."""

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                _reset(writer)
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        if self._thread.is_alive():
            self._call(shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def arm(
        self,
        action: Action,
        match: Match = anything,
        *,
        nth: int = 1,
        times: int = 1,
        seconds: float = 0.0,
    ) -> Fault:
        """Act on the ``nth`` request ``match`` accepts from now on, and ``times - 1`` more."""
        if action == "reset_stream" and not self.http2:
            raise ValueError("reset_stream is an HTTP/2 fault")
        fault = Fault(action, match, nth=nth, times=times, seconds=seconds)
        with self._lock:
            self._faults.append(fault)
        return fault

    def disarm(self) -> None:
        with self._lock:
            self._faults.clear()

    def count(self, match: Match = anything) -> int:
        """How many requests ``match`` accepts among those the proxy has seen."""
        with self._lock:
            return sum(1 for request in self.requests if match(request))

    def close_connections(self) -> None:
        """Reset every open connection now (as a proxy or NAT restarting would)."""

        async def close() -> None:
            for writer in list(self._writers):
                _reset(writer)

        self._call(close())

    def _call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)

    def _take(self, request: Request) -> Fault | None:
        with self._lock:
            self.requests.append(request)
            for fault in self._faults:
                if fault.fired < fault.times and fault.match(request):
                    fault.seen += 1
                    if fault.seen >= fault.nth:
                        fault.fired += 1
                        return fault
        return None

    # -- connections, on the proxy's loop -------------------------------------------------

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        self._writers.add(client_w)
        upstream = _Upstream(self.upstream, self._writers)
        try:
            if self.http2:
                await self._http2(client_r, client_w, *await upstream.connect())
            else:
                await self._http1(client_r, client_w, upstream)
        except (_Closed, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except asyncio.CancelledError:
            pass  # stop() ends every connection: a normal end, not an error to report
        finally:
            self._writers.discard(client_w)
            client_w.close()
            upstream.close()

    # HTTP/1.1: one request, then its reply, in turn.

    async def _http1(
        self,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        upstream: _Upstream,
    ) -> None:
        while True:
            head = await client_r.readuntil(b"\r\n\r\n")
            line, headers = wire.parse_head(head)
            method, target = line.split(" ")[:2]
            body = await wire.read_body(client_r, headers, bodyless=False)
            fault = self._take(Request(method, target, headers, head))
            if fault is not None and fault.action == "reset_request":
                _reset(client_w)
                raise _Closed
            # The server may have closed its idle keep-alive connection meanwhile (Azurite
            # does after 5 s): reconnect, as the client would have, instead of failing.
            server_r, server_w = await upstream.connect()
            server_w.write(head + body)
            reply = b""
            while True:  # 1xx replies precede the final one
                reply_head = await server_r.readuntil(b"\r\n\r\n")
                status_line, reply_headers = wire.parse_head(reply_head)
                status = int(status_line.split(" ")[1])
                if status >= 200:
                    break
                reply += reply_head
            bodyless = method == "HEAD" or status in (204, 304)
            reply += reply_head + await wire.read_body(
                server_r, reply_headers, bodyless, reply=True
            )
            if fault is not None:
                fault.answered += 1
                await self._apply_http1(fault, client_r, client_w)
            client_w.write(reply)
            await client_w.drain()
            closing = "close" in reply_headers.get("connection", "").lower()
            if closing or not (bodyless or wire.delimited(reply_headers)):
                raise _Closed

    async def _apply_http1(
        self, fault: Fault, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        if fault.action == "drop":
            client_w.close()
            raise _Closed
        if fault.action == "reset":
            _reset(client_w)
            raise _Closed
        # delay: the client does not pipeline, so anything it does meanwhile is giving up
        given_up = asyncio.ensure_future(client_r.read(1))
        done, _ = await asyncio.wait({given_up}, timeout=_finite(fault.seconds))
        if done:
            raise _Closed
        given_up.cancel()

    # HTTP/2: frames both ways; a matched stream's reply is held until its END_STREAM.

    async def _http2(
        self,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        server_r: asyncio.StreamReader,
        server_w: asyncio.StreamWriter,
    ) -> None:
        server_w.write(await client_r.readexactly(len(wire.PREFACE)))
        held: dict[int, _Held] = {}
        upstream = asyncio.ensure_future(self._h2_requests(client_r, client_w, server_w, held))
        downstream = asyncio.ensure_future(self._h2_replies(server_r, client_w, server_w, held))
        try:
            await asyncio.wait({upstream, downstream}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (upstream, downstream, *(h.task for h in held.values() if h.task)):
                task.cancel()
            for task in (upstream, downstream):
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _h2_requests(
        self,
        client_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        server_w: asyncio.StreamWriter,
        held: dict[int, _Held],
    ) -> None:
        opened: set[int] = set()
        while True:
            kind, flags, stream, frame = await wire.read_frame(client_r)
            if kind == wire.HEADERS and stream not in opened:
                opened.add(stream)
                frames, block = [frame], wire.payload(frame)
                while not flags & wire.END_HEADERS:
                    _, flags, _, more = await wire.read_frame(client_r)
                    frames.append(more)
                    block += wire.payload(more)
                found = _GRPC_PATH.search(block)
                path = found.group().decode() if found else ""
                fault = self._take(Request("POST", path, {}, block))
                if fault is not None and fault.action == "reset_request":
                    _reset(client_w)
                    raise _Closed
                if fault is not None:
                    held[stream] = _Held(fault)
                frame = b"".join(frames)
            elif kind == wire.RST_STREAM and stream in held:
                held.pop(stream).cancel(server_w)  # the client gave up on a held reply
            server_w.write(frame)

    async def _h2_replies(
        self,
        server_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
        server_w: asyncio.StreamWriter,
        held: dict[int, _Held],
    ) -> None:
        while True:
            kind, flags, stream, frame = await wire.read_frame(server_r)
            if kind == wire.SETTINGS and not flags & wire.ACK:
                frame = wire.no_header_table(frame)
            hold = held.get(stream)
            if hold is None or hold.task is not None:
                client_w.write(frame)
                continue
            hold.frames.append(frame)
            if kind == wire.HEADERS and flags & wire.END_STREAM:
                hold.ending = True
            if not (
                (kind == wire.DATA and flags & wire.END_STREAM)
                or kind == wire.RST_STREAM
                or (
                    hold.ending
                    and kind in (wire.HEADERS, wire.CONTINUATION)
                    and flags & wire.END_HEADERS
                )
            ):
                continue
            hold.fault.answered += 1
            action = hold.fault.action  # the whole reply is in: the fault acts now
            if action == "drop":
                client_w.close()
                raise _Closed
            if action == "reset":
                _reset(client_w)
                raise _Closed
            if action == "reset_stream":
                held.pop(stream).cancel(server_w)
                client_w.write(
                    wire.make_frame(
                        wire.RST_STREAM, 0, stream, struct.pack(">I", wire.INTERNAL_ERROR)
                    )
                )
            else:
                hold.task = asyncio.ensure_future(hold.release_later(client_w, held, stream))


class _Upstream:
    """The proxy's connection to the server, (re)opened when a request needs it."""

    def __init__(self, address: tuple[str, int], writers: set[asyncio.StreamWriter]) -> None:
        self.address = address
        self.writers = writers
        self.pair: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.pair is not None and (self.pair[0].at_eof() or self.pair[1].is_closing()):
            self.close()
        if self.pair is None:
            self.pair = await asyncio.open_connection(*self.address)
            self.writers.add(self.pair[1])
        return self.pair

    def close(self) -> None:
        if self.pair is not None:
            self.writers.discard(self.pair[1])
            self.pair[1].close()
            self.pair = None


@dataclass
class _Held:
    """The reply frames of one matched HTTP/2 stream, held until the fault acts."""

    fault: Fault
    frames: list[bytes] = field(default_factory=list)
    ending: bool = False
    task: asyncio.Future[None] | None = None

    def cancel(self, server_w: asyncio.StreamWriter) -> None:
        """Drop the held frames; give the server back the flow-control window they used."""
        if self.task is not None:
            self.task.cancel()
        used = sum(len(f) - 9 for f in self.frames if f[3] == wire.DATA)
        if used:
            server_w.write(wire.make_frame(wire.WINDOW_UPDATE, 0, 0, struct.pack(">I", used)))
        self.frames.clear()

    async def release_later(
        self, client_w: asyncio.StreamWriter, held: dict[int, _Held], stream: int
    ) -> None:
        if math.isinf(self.fault.seconds):
            await asyncio.get_running_loop().create_future()  # until the client cancels
        await asyncio.sleep(self.fault.seconds)
        if held.get(stream) is self:
            del held[stream]
            client_w.write(b"".join(self.frames))


# -- wire helpers ---------------------------------------------------------------------------


def _finite(seconds: float) -> float | None:
    return None if math.isinf(seconds) else seconds


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN: SO_LINGER on, zero timeout, then abort."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
