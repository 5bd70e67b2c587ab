"""scripts/cloud_smoke.py against moto's server (DynamoDB and S3) through --endpoint: it creates
its own table or bucket, runs each lease operation once, prints requests and latency per step,
deletes what it created, and stops at its request cap."""

from __future__ import annotations

from typing import Any

import pytest

from tests.cloud_smoke_case import check_report, run_smoke, total
from tests.dynamodb.conftest import client as dynamodb_client
from tests.s3.conftest import client as s3_client

pytestmark = pytest.mark.emulator


def leftovers(store: str, endpoint: str) -> list[Any]:
    if store == "dynamodb":
        names: list[Any] = dynamodb_client(endpoint).list_tables()["TableNames"]
    else:
        names = [b["Name"] for b in s3_client(endpoint).list_buckets().get("Buckets", [])]
    return [name for name in names if str(name).startswith("cloudlease-smoke-")]


@pytest.mark.parametrize("store", ["dynamodb", "s3"])
def test_it_runs_each_operation_prints_requests_and_deletes_what_it_created(
    store: str, moto_endpoint: str
) -> None:
    result = run_smoke(store, "--region", "us-east-1", "--endpoint", moto_endpoint)
    counts = check_report(result)
    assert counts["renew"] == counts["release"] == counts["get"] == 1
    assert counts["acquire (refused)"] == 1 and counts["acquire (again)"] == 1
    assert counts["acquire (first)"] == (1 if store == "dynamodb" else 2)  # S3 reads first
    assert leftovers(store, moto_endpoint) == []


def test_it_stops_at_the_request_cap_and_still_deletes(moto_endpoint: str) -> None:
    result = run_smoke(
        "s3", "--region", "us-east-1", "--endpoint", moto_endpoint, "--max-requests", "10"
    )
    assert result.returncode == 1
    assert "stopped at the cap of 10 requests" in result.stderr
    assert 10 < total(result.stdout) <= 10 + 30  # deleting may take a few past the cap
    assert leftovers("s3", moto_endpoint) == []
