"""examples/lambda_s3 end to end against moto: racing deliveries of one tick, lease on S3."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.dynamodb.conftest import REGION, TEST_ENV
from tests.emulators import ROOT
from tests.examples import run_at_once
from tests.s3.conftest import client, create_bucket

EXAMPLE = ROOT / "examples" / "lambda_s3"
RESULT = "results/nightly-report.json"


def invoke(env: dict[str, str], event: Path, count: int) -> list[dict[str, object]]:
    """``count`` concurrent local invocations of the handler; their JSON results."""
    command = [sys.executable, str(EXAMPLE / "run_local.py"), str(event)]
    return run_at_once(command, [env] * count)


def tick(tmp_path: Path, time: str) -> Path:
    """The example's EventBridge event, scheduled at ``time``."""
    event = json.loads((EXAMPLE / "event.json").read_text())
    path = tmp_path / f"event-{time[:10]}.json"
    path.write_text(json.dumps({**event, "time": time}))
    return path


def test_racing_deliveries_of_a_tick_run_once_and_a_stale_token_cannot_overwrite(
    locked_endpoint: str, tmp_path: Path
) -> None:
    bucket = create_bucket(locked_endpoint)
    s3 = client(locked_endpoint)
    env = dict(
        os.environ,
        **TEST_ENV,
        CLOUDLEASE_STORE=f"s3://{bucket}/leases/?region={REGION}",
        AWS_ENDPOINT_URL_S3=locked_endpoint,  # the store's client and the handler's read it
        PYTHONPATH=str(ROOT),
    )

    first = invoke(env, EXAMPLE / "event.json", 4)
    ran = [r for r in first if r["status"] == "ran"]
    assert len(ran) == 1 and [r["status"] for r in first].count("skipped") == 3
    written = json.loads(s3.get_object(Bucket=bucket, Key=RESULT)["Body"].read())
    assert written == {"tick": "2026-11-29T04:00:00Z", "rows": 42, "token": ran[0]["token"]}
    lease_keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="leases/")["Contents"]]
    assert lease_keys and all(key.startswith("leases/nightly-report") for key in lease_keys)

    assert invoke(env, EXAMPLE / "event.json", 1) == [{"status": "skipped"}]  # late duplicate

    [later] = invoke(env, tick(tmp_path, "2026-11-30T04:00:00Z"), 1)  # the next tick runs
    assert later["status"] == "ran" and int(str(later["token"])) > int(str(ran[0]["token"]))

    newer = {"tick": "from a newer holder", "rows": 0, "token": 2**52}
    s3.put_object(Bucket=bucket, Key=RESULT, Body=json.dumps(newer).encode())
    [fenced] = invoke(env, tick(tmp_path, "2026-12-01T04:00:00Z"), 1)
    assert fenced["status"] == "fenced"  # its token is smaller: the result was left alone
    assert json.loads(s3.get_object(Bucket=bucket, Key=RESULT)["Body"].read()) == newer
