"""examples/cron_cli.sh: four hosts' cron fire at once; one runs the job, the rest exit 0."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "examples" / "cron_cli.sh"


def test_cron_guard_runs_the_command_on_one_host(tmp_path: Path) -> None:
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "cloudlease").exists():
        pytest.fail(f"the cloudlease command is not installed next to {sys.executable}")
    marks = tmp_path / "ran.txt"
    env = dict(
        os.environ,
        PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        CLOUDLEASE_STORE=f"sqlite:///{tmp_path / 'leases.db'}",
        LEASE="nightly-backup",
    )
    job = f"echo $CLOUDLEASE_TOKEN >> {marks}; sleep 1"
    hosts = [
        subprocess.Popen(
            ["sh", str(SCRIPT), "sh", "-c", job], env=env, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    results = [(host.wait(60), host.stderr.read() if host.stderr else "") for host in hosts]
    assert [code for code, _ in results] == [0, 0, 0, 0]
    assert marks.read_text().count("\n") == 1
    assert sum("is held by" in err for _, err in results) == 3
