"""Run an example as its platform would: several invocations at once, each a process.

Lambda delivers a tick to several invocations, Cloud Run starts every task of an execution:
``run_at_once`` starts one process per environment before waiting for any, so they race for
the lease, and returns the JSON each printed on its last line.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence

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
