"""examples/cloud_run_job end to end against the Firestore emulator: 3 tasks, one runs."""

from __future__ import annotations

import sys

from google.cloud import firestore

from tests.emulators import ROOT
from tests.examples import example_env, run_at_once
from tests.firestore.conftest import Emulator

MAIN = ROOT / "examples" / "cloud_run_job" / "main.py"


def run_execution(env: dict[str, str], execution: str, tasks: int) -> list[dict[str, object]]:
    """Start every task of ``execution`` at once; the JSON each printed last."""
    envs = [
        dict(
            env,
            CLOUD_RUN_EXECUTION=execution,
            CLOUD_RUN_TASK_INDEX=str(index),
            CLOUD_RUN_TASK_COUNT=str(tasks),
        )
        for index in range(tasks)
    ]
    return run_at_once([sys.executable, str(MAIN)], envs)


def test_one_task_per_execution_writes_the_report(emulator: Emulator, collection: str) -> None:
    env = example_env(
        FIRESTORE_EMULATOR_HOST=emulator.host,
        CLOUDLEASE_STORE=f"firestore://{emulator.project}/{collection}",
        CLOUD_RUN_JOB="report",
    )
    first = run_execution(env, "report-0001", 3)
    assert sorted(str(r["result"]) for r in first) == ["ran", "skipped", "skipped"]

    report = firestore.Client(project=emulator.project).collection("reports").document("daily")
    written = report.get().to_dict()
    assert written is not None and written["execution"] == "report-0001"

    retried = run_execution(env, "report-0001", 1)  # a retried task: the step is done
    assert retried[0]["result"] == "skipped"
    second = run_execution(env, "report-0002", 2)
    assert sorted(str(r["result"]) for r in second) == ["ran", "skipped"]
    later = report.get().to_dict()
    assert later is not None and later["execution"] == "report-0002"
    assert later["token"] > written["token"]
