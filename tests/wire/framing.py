"""Just enough HTTP/1.1 and HTTP/2 for the fault proxy: where a message ends, what a frame is.

HTTP/1.1: a message head, then a body delimited by Content-Length, chunked encoding or (replies
only) the end of the connection. HTTP/2: a 9-byte frame header (length, type, flags, stream
id) and its payload; SETTINGS are the only payload the proxy rewrites.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Mapping

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, WINDOW_UPDATE, CONTINUATION = 0, 1, 3, 4, 8, 9
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
HEADER_TABLE_SIZE = 0x1
INTERNAL_ERROR = 0x2


def parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    """The first line and the headers (lower-case names) of an HTTP/1.1 message head."""
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return lines[0], headers


async def read_body(
    reader: asyncio.StreamReader, headers: Mapping[str, str], bodyless: bool, reply: bool = False
) -> bytes:
    """The raw bytes of a message body: chunked, Content-Length, or (replies) up to EOF."""
    if bodyless:
        return b""
    if "chunked" in headers.get("transfer-encoding", "").lower():
        body = b""
        while True:
            line = await reader.readuntil(b"\r\n")
            body += line
            size = int(line.split(b";")[0], 16)
            if size == 0:  # trailers, then an empty line
                while (line := await reader.readuntil(b"\r\n")) != b"\r\n":
                    body += line
                return body + line
            body += await reader.readexactly(size + 2)
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    return await reader.read() if reply else b""


def delimited(headers: Mapping[str, str]) -> bool:
    """True when the body's end is marked (chunked, Content-Length), not by closing."""
    return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "")


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, int, int, bytes]:
    """One HTTP/2 frame: (type, flags, stream id, the frame's bytes, header included)."""
    head = await reader.readexactly(9)
    length = int.from_bytes(head[:3], "big")
    stream = int.from_bytes(head[5:9], "big") & 0x7FFFFFFF
    return head[3], head[4], stream, head + await reader.readexactly(length)


def make_frame(kind: int, flags: int, stream: int, body: bytes) -> bytes:
    """An HTTP/2 frame of ``kind`` carrying ``body``."""
    head = len(body).to_bytes(3, "big") + bytes((kind, flags)) + struct.pack(">I", stream)
    return head + body


def payload(frame: bytes) -> bytes:
    return frame[9:]


def no_header_table(settings_frame: bytes) -> bytes:
    """The server's SETTINGS with SETTINGS_HEADER_TABLE_SIZE = 0 (see ``tests.wire.proxy``)."""
    body = settings_frame[9:]
    settings = [struct.unpack(">HI", body[i : i + 6]) for i in range(0, len(body), 6)]
    settings = [(key, value) for key, value in settings if key != HEADER_TABLE_SIZE]
    settings.append((HEADER_TABLE_SIZE, 0))
    flags = settings_frame[4]
    return make_frame(SETTINGS, flags, 0, b"".join(struct.pack(">HI", *s) for s in settings))
