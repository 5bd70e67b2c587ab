"""The fault proxy itself, against a stdlib HTTP/1.1 server: framing, and each fault's effect.

(Its HTTP/2 side is exercised by the Firestore wire tests, on the emulator's real gRPC.)
"""

from __future__ import annotations

import http.client
import math
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.wire.proxy import Action, FaultProxy

hits: Counter[str] = Counter()  # requests the server handled (applied), by path


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        hits[self.path] += 1
        body = b"x" * 1000
        self.send_response(200)
        if self.path == "/chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (body[:300], body[300:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/eof":  # close-delimited
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_PUT(self) -> None:
        length = int(self.headers["Content-Length"])
        hits[self.path] += 1
        body = self.rfile.read(length)
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def upstream() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(upstream: int) -> Iterator[FaultProxy]:
    hits.clear()
    with FaultProxy(upstream) as proxy:
        yield proxy


def connect(proxy: FaultProxy, timeout: float = 10) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=timeout)


def fetch(conn: http.client.HTTPConnection, method: str, path: str, body: bytes = b"") -> bytes:
    conn.request(method, path, body=body or None)
    response = conn.getresponse()
    return response.read()


def test_every_framing_passes_through_on_one_connection(proxy: FaultProxy) -> None:
    conn = connect(proxy)
    assert fetch(conn, "GET", "/length") == b"x" * 1000
    assert fetch(conn, "HEAD", "/length") == b""
    assert fetch(conn, "GET", "/chunked") == b"x" * 1000
    assert fetch(conn, "PUT", "/put", b"payload") == b"payload"
    assert fetch(conn, "GET", "/eof") == b"x" * 1000
    assert [r.target for r in proxy.requests] == ["/length", "/length", "/chunked", "/put", "/eof"]


@pytest.mark.parametrize(
    ("action", "error"),
    [("drop", http.client.RemoteDisconnected), ("reset", ConnectionResetError)],
)
def test_a_lost_reply_was_applied_by_the_server(
    proxy: FaultProxy, action: Action, error: type[Exception]
) -> None:
    fault = proxy.arm(action, lambda r: r.method == "PUT", nth=2)
    conn = connect(proxy)
    assert fetch(conn, "PUT", "/put", b"one") == b"one"
    with pytest.raises(error):
        fetch(conn, "PUT", "/put", b"two")
    assert (fault.seen, fault.fired, fault.answered) == (2, 1, 1)
    assert hits["/put"] == 2  # the server applied both
    assert fetch(connect(proxy), "PUT", "/put", b"three") == b"three"  # armed once only


def test_a_reset_before_forwarding_reaches_nothing(proxy: FaultProxy) -> None:
    fault = proxy.arm("reset_request", lambda r: r.method == "PUT")
    with pytest.raises(ConnectionResetError):
        fetch(connect(proxy), "PUT", "/put", b"one")
    assert (fault.fired, fault.answered, hits["/put"]) == (1, 0, 0)


def test_a_held_reply_outlasts_the_client_and_a_short_delay_does_not(proxy: FaultProxy) -> None:
    held = proxy.arm("delay", lambda r: r.target == "/held", seconds=math.inf)
    with pytest.raises(TimeoutError):
        fetch(connect(proxy, timeout=0.3), "GET", "/held")
    assert (held.answered, hits["/held"]) == (1, 1)
    proxy.arm("delay", lambda r: r.target == "/late", seconds=0.05)
    assert fetch(connect(proxy), "GET", "/late") == b"x" * 1000
