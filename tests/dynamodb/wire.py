"""Botocore hooks on one DynamoDB client (``tests/wire/hooks.py``), with DynamoDB's answers.

``lose_response`` answers InternalServerError for a 5xx; ``respond`` a JSON error (a throttle,
an expired token); ``json_response`` a made-up success.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse, HTTPHeaders

from tests.wire.hooks import Body, BotocoreWire


def _answer(request: AWSPreparedRequest, status: int, body: str) -> AWSResponse:
    headers = HTTPHeaders()
    headers["Content-Type"] = "application/x-amz-json-1.0"
    headers["x-amzn-RequestId"] = "injected"
    return AWSResponse(request.url, status, headers, Body(body.encode()))


def error_response(request: AWSPreparedRequest, status: int, code: str) -> AWSResponse:
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code})
    return _answer(request, status, body)


def json_response(request: AWSPreparedRequest, payload: dict[str, Any]) -> AWSResponse:
    return _answer(request, 200, json.dumps(payload))


class Wire(BotocoreWire):
    """Hooks on a DynamoDB client: ``requests`` counts attempts per operation (UpdateItem...)."""

    service = "dynamodb"
    internal_error = "InternalServerError"
    error = staticmethod(error_response)
