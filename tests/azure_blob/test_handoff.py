"""A lease handed across invocations, on Azurite: renewed and released by another store."""

from __future__ import annotations

import json

import pytest

from cloudlease import LeaseLost, hold
from cloudlease.tenure import Tenure
from tests.azure_blob.azurite import Azurite


def test_a_handle_is_renewed_and_released_by_another_invocation(
    azurite: Azurite, container: str
) -> None:
    (first_invocation, _), (second_invocation, _) = (
        azurite.store(container),
        azurite.store(container),
    )
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
