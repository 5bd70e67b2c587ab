"""Cold start of a Lambda handler module guarded by ``@aws_lambda.single_runner`` on DynamoDB:
what importing it costs on top of importing boto3 alone (which the function needs anyway).

    .venv/bin/python -m benchmarks.cold_start [--runs 15]

Each run is a fresh interpreter, ``python -X importtime -c "import boto3; import handler"``;
the figure is the cumulative import time of the handler module (everything it imports that
boto3 had not), median over the runs. The handler is the shortest real one: the decorator with
a ``dynamodb://`` URL (the store, and so cloudlease_dynamodb, opens on the first call, not at
import). Prints one JSON line; figures go to docs/performance.md, never into tests.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HANDLER = """
from cloudlease import aws_lambda, current_lease


@aws_lambda.single_runner(store="dynamodb://leases?region=us-east-1", name="nightly")
def handler(event, context):
    return current_lease().token
"""


def handler_import_ms(directory: Path) -> float:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import boto3; import cold_handler"],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(directory), "PATH": "/usr/bin:/bin"},
    )
    for line in done.stderr.splitlines():
        fields = [field.strip() for field in line.split("|")]
        if len(fields) == 3 and fields[2] == "cold_handler":
            return int(fields[1]) / 1000
    raise RuntimeError("the handler's import was not timed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "cold_handler.py").write_text(HANDLER)
        times = sorted(handler_import_ms(directory) for _ in range(args.runs))
    print(
        json.dumps(
            {
                "handler import over boto3, median ms": round(statistics.median(times), 1),
                "min ms": round(times[0], 1),
                "max ms": round(times[-1], 1),
                "runs": args.runs,
                "goal ms": 10,
            }
        )
    )


if __name__ == "__main__":
    main()
