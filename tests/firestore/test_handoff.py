"""A lease handed across invocations, on the Firestore emulator."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cloudlease import LeaseLost, hold
from cloudlease.tenure import Tenure


def test_a_handle_is_renewed_and_released_by_another_invocation(make_store: Any) -> None:
    first_invocation, second_invocation = make_store(), make_store()
    held = hold(first_invocation, "pipeline", ttl=30, holder="step-1", release_at_exit=False)
    held.acquire()
    handle = json.dumps(held.to_json())
    held.abandon("handed to the next step")

    later = Tenure.from_json(second_invocation, json.loads(handle))
    later.renew()
    assert later.release(strict=True)
    record = second_invocation.get("pipeline")
    assert record is not None and record.holder == ""

    stale = Tenure.from_json(second_invocation, json.loads(handle))
    with pytest.raises(LeaseLost):
        stale.renew()
