"""Several processes contend through hold(): one holder at a time, fenced tokens only grow."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from google.cloud import firestore

from tests.emulators import ROOT
from tests.firestore.conftest import Emulator

WORKERS = 3
ROUNDS = 2


@pytest.mark.slow
def test_processes_contending_through_hold_never_overlap_and_fence_with_growing_tokens(
    emulator: Emulator, collection: str, tmp_path: Path
) -> None:
    sink = f"{collection}_sink"
    env = dict(os.environ, FIRESTORE_EMULATOR_HOST=emulator.host, PYTHONPATH=str(ROOT))
    logs = [tmp_path / f"worker-{i}.jsonl" for i in range(WORKERS)]
    processes = [
        subprocess.Popen(
            [
                sys.executable, "-m", "tests.firestore.worker",
                "--project", emulator.project, "--collection", collection, "--sink", sink,
                "--lease", "singleton", "--holder", f"worker-{i}", "--log", str(log),
                "--rounds", str(ROUNDS),
            ],
            env=env,
            cwd=ROOT,
        )
        for i, log in enumerate(logs)
    ]  # fmt: skip
    try:
        codes = [process.wait(timeout=150) for process in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert codes == [0] * WORKERS

    holds: list[dict[str, Any]] = sorted(
        (json.loads(line) for log in logs for line in log.read_text().splitlines()),
        key=lambda entry: entry["start"],
    )
    assert len(holds) == WORKERS * ROUNDS
    for earlier, later in itertools.pairwise(holds):
        assert earlier["end"] <= later["start"], f"two holders at once: {earlier} {later}"
        assert later["token"] > earlier["token"]

    client = firestore.Client(project=emulator.project)
    writes: list[dict[str, Any]] = sorted(
        (doc.to_dict() or {} for doc in client.collection(sink).stream() if doc.id != "head"),
        key=lambda write: write["seq"],
    )
    assert [write["seq"] for write in writes] == list(range(1, WORKERS * ROUNDS * 3 + 1))
    owner: dict[int, str] = {}
    for earlier, later in itertools.pairwise(writes):
        assert later["token"] >= earlier["token"], f"token went back: {earlier} -> {later}"
    for write in writes:
        assert owner.setdefault(write["token"], write["holder"]) == write["holder"]
    assert sorted(owner) == sorted(entry["token"] for entry in holds)
