"""Invoke ``handler`` locally with an EventBridge event and a stand-in Lambda context.

export CLOUDLEASE_STORE='dynamodb://cloudlease-leases?region=us-east-1&endpoint_url=URL'
RESULTS_TABLE=nightly-results python examples/lambda_scheduled/run_local.py [event.json]
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from handler import handler  # type: ignore[import-not-found]  # noqa: E402


class LocalContext:
    """The parts of the Lambda context the adapter reads (a 60 s timeout)."""

    def __init__(self, timeout: float = 60.0) -> None:
        self.aws_request_id = str(uuid.uuid4())
        self.function_name = "nightly-report"
        self._deadline = time.monotonic() + timeout

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


if __name__ == "__main__":
    event_path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "event.json"
    event = json.loads(event_path.read_text())
    print(json.dumps(handler(event, LocalContext())))
