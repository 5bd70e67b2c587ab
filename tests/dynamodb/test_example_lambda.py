"""examples/lambda_scheduled end to end against moto: racing deliveries of one tick."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.dynamodb.conftest import REGION, TEST_ENV, client, create_table
from tests.emulators import ROOT
from tests.examples import example_env, invoke_lambda, one_ran, tick

EXAMPLE = ROOT / "examples" / "lambda_scheduled"


def create_results_table(endpoint: str, name: str) -> None:
    """The example's results table (``RESULTS_TABLE``), keyed by ``id``."""
    client(endpoint).create_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )


def lambda_env(table: str, endpoint: str, results: str, **env: str) -> dict[str, str]:
    """The handler's environment: the lease table on moto, the results table, ``env``."""
    store = f"dynamodb://{table}?region={REGION}&endpoint_url={endpoint}"
    return example_env(**TEST_ENV, CLOUDLEASE_STORE=store, RESULTS_TABLE=results, **env)


def test_racing_deliveries_of_a_tick_run_once_and_write_a_fenced_result(
    locked_endpoint: str, tmp_path: Path
) -> None:
    table = create_table(locked_endpoint)
    create_results_table(locked_endpoint, "nightly-results")
    env = lambda_env(table, locked_endpoint, "nightly-results")

    ran = one_ran(invoke_lambda(EXAMPLE, env, EXAMPLE / "event.json", 4))
    item = client(locked_endpoint).get_item(
        TableName="nightly-results", Key={"id": {"S": "nightly-report"}}, ConsistentRead=True
    )["Item"]
    assert item["token"]["N"] == str(ran["token"])
    assert item["tick"]["S"] == "2026-11-29T04:00:00Z"

    late = invoke_lambda(EXAMPLE, env, EXAMPLE / "event.json", 1)
    assert late == [{"status": "skipped"}]  # a late duplicate
    next_tick = tick(EXAMPLE, tmp_path, "2026-11-30T04:00:00Z")
    [later] = invoke_lambda(EXAMPLE, env, next_tick, 1)
    assert later["status"] == "ran" and int(str(later["token"])) > int(str(ran["token"]))


def test_the_example_runs_unguarded_with_cloudlease_disabled(locked_endpoint: str) -> None:
    """A local run with CLOUDLEASE_DISABLED=1: no lease, fencing token 0, and the fenced
    result is written only because no real holder wrote that item yet."""
    table = create_table(locked_endpoint)
    results = f"results-{table}"
    create_results_table(locked_endpoint, results)
    env = lambda_env(table, locked_endpoint, results, CLOUDLEASE_DISABLED="1")
    [result] = invoke_lambda(EXAMPLE, env, EXAMPLE / "event.json", 1)
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
