"""The ``cloudlease`` command end to end against a moto server, as a user would run it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from cloudlease_dynamodb import DynamoDBStore
from tests.dynamodb.conftest import REGION, TEST_ENV, new_table_name, session
from tests.emulators import ROOT
from tests.helpers import only_record, run_args, run_cli

CLI = str(ROOT / ".venv" / "bin" / "cloudlease")


def cloudlease(*args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, program=[CLI], env=dict(os.environ, **TEST_ENV))


def test_init_run_held_elsewhere_and_status(locked_endpoint: str, tmp_path: Path) -> None:
    table = new_table_name("cli")
    url = f"dynamodb://{table}?region={REGION}&endpoint_url={locked_endpoint}"

    created = cloudlease("init", "--store", url)
    assert created.returncode == 0, created.stderr
    assert cloudlease("init", "--store", url).returncode == 0  # idempotent

    out = tmp_path / "token"
    write_token = f'echo "$CLOUDLEASE_TOKEN" > {out}'
    ran = cloudlease(*run_args(url, "nightly", "sh", "-c", write_token, ttl=10))
    assert ran.returncode == 0, ran.stderr
    first_token = int(out.read_text())
    assert cloudlease("run", "--store", url, "--lease", "nightly", "--", "true").returncode == 0

    store = DynamoDBStore(table, region=REGION, endpoint_url=locked_endpoint, session=session())
    lease = store.acquire("nightly", "elsewhere", 30, {"host": "other"})
    assert lease.token > first_token
    held = cloudlease("run", "--store", url, "--lease", "nightly", "--", "true")
    assert held.returncode == 75, held.stderr
    assert "elsewhere" in held.stderr

    record = only_record(cloudlease("status", "--store", url, "--json"))
    assert (record["name"], record["holder"], record["token"]) == (
        "nightly",
        "elsewhere",
        lease.token,
    )
    assert record["metadata"] == {"host": "other"} and record["transitions"] == 3
    watched = cloudlease("status", "--store", url, "--watch", "--interval", "0.01", "--count", "2")
    assert watched.returncode == 0, watched.stderr
    rows = [line.split() for line in watched.stdout.splitlines() if line.startswith("nightly")]
    assert [row[:3] for row in rows] == [["nightly", "elsewhere", str(lease.token)]] * 2
    assert "(listing 2)" in watched.stdout


def test_a_missing_table_exits_69_with_the_fix(locked_endpoint: str) -> None:
    url = f"dynamodb://absent-table?region={REGION}&endpoint_url={locked_endpoint}"
    result = cloudlease("run", "--store", url, "--lease", "x", "--", "true")
    assert result.returncode == 69
    assert "cloudlease init --store dynamodb://absent-table" in result.stderr
