"""Run scripts/cloud_smoke.py on an emulator and check its report (shared by each store's test).

The script is opt-in and made for real clouds; here it runs with --yes-use-my-account against
the emulators the fixtures start, pointed there by --endpoint or the SDK's emulator variable.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "cloud_smoke.py"
STEPS = ["create (init)", "acquire (first)", "renew", "acquire (refused)", "release",
         "acquire (again)", "release", "get", "delete"]  # fmt: skip


def run_smoke(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args, "--yes-use-my-account"],
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=180,
    )


def total(stdout: str) -> int:
    found = re.search(r"^total: (\d+) requests$", stdout, re.M)
    assert found is not None, stdout
    return int(found.group(1))


def check_report(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    """Assert a clean run (every step, in order, requests adding up); requests by step."""
    assert result.returncode == 0, result.stdout + result.stderr
    found = [
        (m.group(1).strip(), int(m.group(2)))
        for m in re.finditer(r"^([^\d\n]+?) +(\d+) +\d+\.\d  ", result.stdout, re.M)
    ]
    assert [step for step, _ in found] == STEPS
    assert total(result.stdout) == sum(n for _, n in found)
    assert "held by holder-a" in result.stdout and "NOT" not in result.stdout
    counts = dict(found)
    counts["release"] = found[4][1]  # the first release (the dict kept the second)
    return counts
