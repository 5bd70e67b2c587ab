"""A scheduled Lambda that does its work once per EventBridge tick, on DynamoDB.

EventBridge may deliver a scheduled event twice, and a slow invocation may overlap the next
one; ``@aws_lambda.single_runner`` makes each tick run once: the tick (the event's ``time``)
is part of the lease name, a duplicate is skipped, a failed run may be retried. The result is
written with ``fenced_put``: DynamoDB refuses it if this invocation lost its lease meanwhile.

Environment: ``CLOUDLEASE_STORE`` (``dynamodb://TABLE?region=REGION``), ``RESULTS_TABLE``, and
``CLOUDLEASE_LEASE`` (the job's lease name; ``terraform/examples/lambda_scheduled`` sets all
three and restricts the function's policy to lease names starting with it).
"""

from __future__ import annotations

import os
from typing import Any

from cloudlease import aws_lambda, current_lease, open_store
from cloudlease_dynamodb import DynamoDBStore, fenced_put

STORE = open_store()  # CLOUDLEASE_STORE, opened once per cold start
RESULTS_TABLE = os.environ.get("RESULTS_TABLE", "nightly-results")
LEASE = os.environ.get("CLOUDLEASE_LEASE", "nightly-report")


@aws_lambda.single_runner(store=STORE, name=LEASE, ttl=120, skipped={"status": "skipped"})
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    lease = current_lease()
    report = {"rows": 42}  # the real work goes here; check lease.ensure() between long steps
    assert isinstance(STORE, DynamoDBStore)
    fenced_put(
        STORE,
        lease,
        table=RESULTS_TABLE,
        item={
            "id": {"S": LEASE},
            "tick": {"S": event["time"]},
            "rows": {"N": str(report["rows"])},
            "token": {"N": str(lease.token)},
        },
    )
    return {"status": "ran", "tick": event["time"], "token": lease.token}
