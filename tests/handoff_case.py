"""One scenario for every store: a lease handed across invocations (see test_handoff.py)."""

from __future__ import annotations

import json

import pytest

from cloudlease import LeaseLost, hold
from cloudlease.store import LeaseStore
from cloudlease.tenure import Tenure


def handed_over_renewed_released_then_stale(
    first_invocation: LeaseStore, second_invocation: LeaseStore
) -> None:
    """Acquire on one store object, hand the lease over as JSON, renew and release it on
    another (as a second Lambda would); the same handle is then refused as stale."""
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
