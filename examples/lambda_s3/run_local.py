"""Invoke ``handler`` once locally, with an EventBridge event and a stand-in Lambda context.

export CLOUDLEASE_STORE='s3://my-leases/leases/?region=us-east-1'
AWS_ENDPOINT_URL_S3=http://127.0.0.1:5000 python examples/lambda_s3/run_local.py [event.json]
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from handler import handler  # type: ignore[import-not-found]  # noqa: E402

if __name__ == "__main__":
    event = json.loads(Path(sys.argv[1] if len(sys.argv) > 1 else HERE / "event.json").read_text())
    context = SimpleNamespace(  # what the adapter reads: a 60 s invocation
        aws_request_id=str(uuid.uuid4()),
        function_name="nightly-report",
        get_remaining_time_in_millis=lambda: 60_000,
    )
    print(json.dumps(handler(event, context)))
