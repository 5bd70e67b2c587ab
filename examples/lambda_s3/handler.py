"""A scheduled Lambda that does its work once per EventBridge tick, with its lease on S3.

No table to provision: the lease is one small JSON object in a bucket you already have
(``s3://BUCKET/PREFIX``), changed by conditional PUTs. ``@aws_lambda.single_runner`` makes
each tick run once: the tick (the event's ``time``) is part of the lease name, a duplicate
delivery is skipped, a failed run may be retried. The result is written with a compare-and-set
on the result object (``put_fenced``): an invocation that lost its lease meanwhile cannot
overwrite the result of a holder with a greater token.

Environment: ``CLOUDLEASE_STORE`` (``s3://BUCKET/leases/?region=REGION``), ``RESULTS_BUCKET``
(default: the lease bucket) and ``CLOUDLEASE_LEASE`` (the job's lease name).
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlsplit

import boto3
from botocore.exceptions import ClientError

from cloudlease import aws_lambda, current_lease

STORE = os.environ.get("CLOUDLEASE_STORE", "s3://my-leases/leases/?region=eu-west-1")
RESULTS_BUCKET = os.environ.get("RESULTS_BUCKET") or urlsplit(STORE).netloc
LEASE = os.environ.get("CLOUDLEASE_LEASE", "nightly-report")
S3 = boto3.client("s3")  # created once per cold start; AWS_ENDPOINT_URL_S3 for local runs


@aws_lambda.single_runner(store=STORE, name=LEASE, ttl=120, skipped={"status": "skipped"})
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    lease = current_lease()
    report = {"rows": 42}  # the real work goes here; check lease.ensure() between long steps
    result = {"tick": event["time"], "rows": report["rows"], "token": lease.token}
    written = put_fenced(RESULTS_BUCKET, f"results/{LEASE}.json", result, lease.token)
    return {"status": "ran" if written else "fenced", "tick": event["time"], "token": lease.token}


def put_fenced(bucket: str, key: str, body: dict[str, Any], token: int) -> bool:
    """Write ``body`` unless the object already holds a greater fencing token.

    One read and one conditional PUT (``If-Match`` the ETag read, ``If-None-Match: *`` when
    there is none): a write that lands between the two is refused with 412, never lost.
    """
    condition: dict[str, Any]
    try:
        current = S3.get_object(Bucket=bucket, Key=key)
    except S3.exceptions.NoSuchKey:
        condition = {"IfNoneMatch": "*"}
    else:
        if json.loads(current["Body"].read()).get("token", -1) > token:
            return False  # a newer holder wrote already: this invocation's lease is stale
        condition = {"IfMatch": current["ETag"]}
    try:
        S3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode(), **condition)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
            return False  # someone wrote since the read: let the next tick decide
        raise
    return True
