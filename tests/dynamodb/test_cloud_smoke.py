"""scripts/cloud_smoke.py against moto's server (DynamoDB and S3) through --endpoint: it creates
its own table or bucket, runs each lease operation once, prints requests and latency per step,
deletes what it created, and stops at its request cap."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.dynamodb.conftest import client as dynamodb_client
from tests.s3.conftest import client as s3_client

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "cloud_smoke.py"
STEPS = ["create (init)", "acquire (first)", "renew", "acquire (refused)", "release",
         "acquire (again)", "release", "get", "delete"]  # fmt: skip

pytestmark = pytest.mark.emulator


def smoke(store: str, endpoint: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            store,
            "--region",
            "us-east-1",
            "--endpoint",
            endpoint,
            "--yes-use-my-account",
            *extra,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def steps(stdout: str) -> list[tuple[str, int]]:
    return [
        (m.group(1).strip(), int(m.group(2)))
        for m in re.finditer(r"^([^\d\n]+?) +(\d+) +\d+\.\d  ", stdout, re.M)
    ]


def total(stdout: str) -> int:
    found = re.search(r"^total: (\d+) requests$", stdout, re.M)
    assert found is not None
    return int(found.group(1))


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
    result = smoke(store, moto_endpoint)
    assert result.returncode == 0, result.stderr
    found = steps(result.stdout)
    assert [step for step, _ in found] == STEPS
    counted = dict(found[1:-1])  # the lease operations: the stores' documented request counts
    assert counted["renew"] == 1 and counted["release"] == 1 and counted["get"] == 1
    assert counted["acquire (first)"] in (1, 2) and counted["acquire (refused)"] == 1
    assert "held by holder-a" in result.stdout
    assert total(result.stdout) == sum(n for _, n in found)
    assert leftovers(store, moto_endpoint) == []


def test_it_stops_at_the_request_cap_and_still_deletes(moto_endpoint: str) -> None:
    result = smoke("s3", moto_endpoint, "--max-requests", "10")
    assert result.returncode == 1
    assert "stopped at the cap of 10 requests" in result.stderr
    assert (
        10 < total(result.stdout) <= 10 + 30
    )  # the cap stops the lease steps; deleting may take a few more
    assert leftovers("s3", moto_endpoint) == []
