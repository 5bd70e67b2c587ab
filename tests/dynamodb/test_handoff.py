"""A lease handed across invocations, on DynamoDB (moto): renewed and released by another
store object, as a second Lambda would; a stale handle refused."""

from __future__ import annotations

import json

import pytest

from cloudlease import LeaseLost, hold
from cloudlease.tenure import Tenure
from tests.dynamodb.conftest import StoreMaker


def test_a_handle_is_renewed_and_released_by_another_invocation(
    make_http_store: StoreMaker,
) -> None:
    first_invocation, second_invocation = make_http_store(), make_http_store()
    held = hold(first_invocation, "pipeline", ttl=30, holder="step-1", release_at_exit=False)
    held.acquire()
    handle = json.dumps(held.to_json())
    held.abandon("handed to the next step")

    later = Tenure.from_json(second_invocation, json.loads(handle))
    assert later.token == held.token
    later.extend(20)
    assert later.release(strict=True)
    record = second_invocation.get("pipeline")
    assert record is not None and record.holder == "" and record.token == held.token

    stale = Tenure.from_json(second_invocation, json.loads(handle))
    with pytest.raises(LeaseLost):
        stale.renew()
