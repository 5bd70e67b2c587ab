"""Run an example as its platform would: several invocations at once, each a process.

Lambda delivers a tick to several invocations, Cloud Run starts every task of an execution:
``run_at_once`` starts one process per environment before waiting for any, so they race for
the lease, and returns the JSON each printed on its last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tests.emulators import ROOT


def run_at_once(
    command: Sequence[str], envs: Sequence[Mapping[str, str]], timeout: float = 120
) -> list[dict[str, object]]:
    """Start ``command`` once per environment in ``envs``, all before waiting; each must exit
    0 and end its output with one JSON object, returned in the order of ``envs``."""
    runs = [
        subprocess.Popen(
            list(command),
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        for env in envs
    ]
    results = []
    for run in runs:
        out, err = run.communicate(timeout=timeout)
        assert run.returncode == 0, err
        result: dict[str, object] = json.loads(out.strip().splitlines()[-1])
        results.append(result)
    return results


def example_env(**env: str) -> dict[str, str]:
    """This process's environment with ``env`` added and the checkout on PYTHONPATH."""
    return dict(os.environ, PYTHONPATH=str(ROOT), **env)


def invoke_lambda(
    example: Path, env: Mapping[str, str], event: Path, count: int
) -> list[dict[str, object]]:
    """``count`` concurrent local invocations of ``example``'s handler (its ``run_local.py``)
    on ``event``; their JSON results."""
    command = [sys.executable, str(example / "run_local.py"), str(event)]
    return run_at_once(command, [env] * count)


def tick(example: Path, tmp_path: Path, time: str) -> Path:
    """``example``'s EventBridge event (its ``event.json``), scheduled at ``time``."""
    event = json.loads((example / "event.json").read_text())
    path = tmp_path / f"event-{time[:10]}.json"
    path.write_text(json.dumps({**event, "time": time}))
    return path


def one_ran(results: Sequence[Mapping[str, object]]) -> Mapping[str, object]:
    """The one result whose status is "ran"; every other one's is "skipped"."""
    ran = [r for r in results if r["status"] == "ran"]
    statuses = [r["status"] for r in results]
    assert len(ran) == 1 and statuses.count("skipped") == len(results) - 1, statuses
    return ran[0]
