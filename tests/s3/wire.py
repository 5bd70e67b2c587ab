"""Botocore hooks on one S3 client (``tests/wire/hooks.py``), with S3's answers.

``lose_response`` answers InternalError for a 5xx; ``respond`` an S3 error without sending
(nothing applied): how real S3's 409 ConditionalRequestConflict, 503 SlowDown and 403
AccessDenied are shown.
"""

from __future__ import annotations

from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders

from tests.wire.hooks import Body, BotocoreWire


def s3_error(request: AWSPreparedRequest, status: int, code: str) -> AWSResponse:
    """An S3 error answer, as the service sends it (XML body)."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
        f"<Message>{code} (injected)</Message><RequestId>injected</RequestId></Error>"
    )
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/xml"
    headers["x-amz-request-id"] = "injected"
    return AWSResponse(request.url, status, headers, Body(body.encode()))


class Wire(BotocoreWire):
    """Hooks on an S3 client: ``requests`` counts attempts per operation (PutObject...)."""

    service = "s3"
    internal_error = "InternalError"
    error = staticmethod(s3_error)
