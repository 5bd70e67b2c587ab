"""examples/lambda_s3 end to end against moto: racing deliveries of one tick, lease on S3."""

from __future__ import annotations

import json
from pathlib import Path

from tests.dynamodb.conftest import REGION, TEST_ENV
from tests.emulators import ROOT
from tests.examples import example_env, invoke_lambda, one_ran, tick
from tests.s3.conftest import client, create_bucket

EXAMPLE = ROOT / "examples" / "lambda_s3"
RESULT = "results/nightly-report.json"


def test_racing_deliveries_of_a_tick_run_once_and_a_stale_token_cannot_overwrite(
    locked_endpoint: str, tmp_path: Path
) -> None:
    bucket = create_bucket(locked_endpoint)
    s3 = client(locked_endpoint)
    env = example_env(
        **TEST_ENV,
        CLOUDLEASE_STORE=f"s3://{bucket}/leases/?region={REGION}",
        AWS_ENDPOINT_URL_S3=locked_endpoint,  # the store's client and the handler's read it
    )

    ran = one_ran(invoke_lambda(EXAMPLE, env, EXAMPLE / "event.json", 4))
    written = json.loads(s3.get_object(Bucket=bucket, Key=RESULT)["Body"].read())
    assert written == {"tick": "2026-11-29T04:00:00Z", "rows": 42, "token": ran["token"]}
    lease_keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="leases/")["Contents"]]
    assert lease_keys and all(key.startswith("leases/nightly-report") for key in lease_keys)

    late = invoke_lambda(EXAMPLE, env, EXAMPLE / "event.json", 1)
    assert late == [{"status": "skipped"}]  # a late duplicate
    next_tick = tick(EXAMPLE, tmp_path, "2026-11-30T04:00:00Z")
    [later] = invoke_lambda(EXAMPLE, env, next_tick, 1)  # the next tick runs
    assert later["status"] == "ran" and int(str(later["token"])) > int(str(ran["token"]))

    newer = {"tick": "from a newer holder", "rows": 0, "token": 2**52}
    s3.put_object(Bucket=bucket, Key=RESULT, Body=json.dumps(newer).encode())
    [fenced] = invoke_lambda(EXAMPLE, env, tick(EXAMPLE, tmp_path, "2026-12-01T04:00:00Z"), 1)
    assert fenced["status"] == "fenced"  # its token is smaller: the result was left alone
    assert json.loads(s3.get_object(Bucket=bucket, Key=RESULT)["Body"].read()) == newer
