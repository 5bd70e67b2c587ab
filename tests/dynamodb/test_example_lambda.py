"""examples/lambda_scheduled end to end against moto: racing deliveries of one tick."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.dynamodb.conftest import REGION, TEST_ENV, client, create_table
from tests.emulators import ROOT

EXAMPLE = ROOT / "examples" / "lambda_scheduled"


def invoke(env: dict[str, str], event: Path, count: int) -> list[dict[str, object]]:
    """``count`` concurrent local invocations of the handler; their JSON results."""
    runs = [
        subprocess.Popen(
            [sys.executable, str(EXAMPLE / "run_local.py"), str(event)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for _ in range(count)
    ]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_racing_deliveries_of_a_tick_run_once_and_write_a_fenced_result(
    locked_endpoint: str, tmp_path: Path
) -> None:
    table = create_table(locked_endpoint)
    dynamodb = client(locked_endpoint)
    dynamodb.create_table(
        TableName="nightly-results",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    env = dict(
        os.environ,
        **TEST_ENV,
        CLOUDLEASE_STORE=f"dynamodb://{table}?region={REGION}&endpoint_url={locked_endpoint}",
        RESULTS_TABLE="nightly-results",
        PYTHONPATH=str(ROOT),
    )

    first = invoke(env, EXAMPLE / "event.json", 4)
    ran = [r for r in first if r["status"] == "ran"]
    assert len(ran) == 1 and [r["status"] for r in first].count("skipped") == 3
    item = dynamodb.get_item(
        TableName="nightly-results", Key={"id": {"S": "nightly-report"}}, ConsistentRead=True
    )["Item"]
    assert item["token"]["N"] == str(ran[0]["token"])
    assert item["tick"]["S"] == "2026-11-29T04:00:00Z"

    assert invoke(env, EXAMPLE / "event.json", 1) == [{"status": "skipped"}]  # late duplicate

    next_tick = tmp_path / "next.json"
    event = json.loads((EXAMPLE / "event.json").read_text())
    next_tick.write_text(json.dumps({**event, "time": "2026-11-30T04:00:00Z"}))
    [later] = invoke(env, next_tick, 1)
    assert later["status"] == "ran" and int(str(later["token"])) > int(str(ran[0]["token"]))


def test_the_example_runs_unguarded_with_cloudlease_disabled(locked_endpoint: str) -> None:
    """A local run with CLOUDLEASE_DISABLED=1: no lease, fencing token 0, and the fenced
    result is written only because no real holder wrote that item yet."""
    table = create_table(locked_endpoint)
    results = f"results-{table}"
    client(locked_endpoint).create_table(
        TableName=results,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    env = dict(
        os.environ,
        **TEST_ENV,
        CLOUDLEASE_STORE=f"dynamodb://{table}?region={REGION}&endpoint_url={locked_endpoint}",
        RESULTS_TABLE=results,
        PYTHONPATH=str(ROOT),
        CLOUDLEASE_DISABLED="1",
    )
    [result] = invoke(env, EXAMPLE / "event.json", 1)
    assert result["status"] == "ran" and result["token"] == 0
    lease_table = client(locked_endpoint).scan(TableName=table)["Items"]
    assert lease_table == []  # no lease was taken in the store
    run = subprocess.run(
        [sys.executable, str(EXAMPLE / "run_local.py"), str(EXAMPLE / "event.json")],
        env=env,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode != 0 and "only items that do not exist yet" in run.stderr
