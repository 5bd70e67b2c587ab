"""examples/cloud_run_gcs end to end against fake-gcs-server: 3 tasks, one runs, fenced."""

from __future__ import annotations

import json
import os
import sys

from tests.emulators import ROOT
from tests.examples import run_at_once
from tests.gcs.conftest import PROJECT, client

MAIN = ROOT / "examples" / "cloud_run_gcs" / "main.py"
REPORT = "reports/daily.json"


def run_execution(env: dict[str, str], execution: str, tasks: int) -> list[dict[str, object]]:
    """The ``tasks`` tasks of one job execution, started together; their JSON lines."""
    task_env = dict(env, CLOUD_RUN_EXECUTION=execution, CLOUD_RUN_TASK_COUNT=str(tasks))
    envs = [dict(task_env, CLOUD_RUN_TASK_INDEX=str(index)) for index in range(tasks)]
    return run_at_once([sys.executable, str(MAIN)], envs)


def test_one_task_per_execution_writes_the_report_and_a_stale_token_cannot(
    fake_gcs: str, bucket: str
) -> None:
    env = dict(
        os.environ,
        STORAGE_EMULATOR_HOST=fake_gcs,
        GOOGLE_CLOUD_PROJECT=PROJECT,
        CLOUDLEASE_STORE=f"gs://{bucket}/leases/",
        CLOUD_RUN_JOB="report",
        PYTHONPATH=str(ROOT),
    )
    first = run_execution(env, "report-0001", 3)
    assert sorted(str(r["result"]) for r in first) == ["ran", "skipped", "skipped"]
    objects = client().bucket(bucket)

    def report() -> dict[str, object]:  # a fresh handle: the latest generation
        body: dict[str, object] = json.loads(objects.blob(REPORT).download_as_bytes())
        return body

    written = report()
    assert written["execution"] == "report-0001"

    retried = run_execution(env, "report-0001", 1)  # a retried task: the step is done
    assert retried[0]["result"] == "skipped"
    second = run_execution(env, "report-0002", 2)
    assert sorted(str(r["result"]) for r in second) == ["ran", "skipped"]
    later = report()
    assert later["execution"] == "report-0002"
    assert int(str(later["token"])) > int(str(written["token"]))

    newer = {"execution": "from a newer holder", "token": 2**52}
    objects.blob(REPORT).upload_from_string(json.dumps(newer))
    [fenced] = run_execution(env, "report-0003", 1)
    assert fenced["result"] == "fenced"  # its token is smaller: the report was left alone
    assert report() == newer
