"""``cloudlease demo`` runs from a source checkout, with no install, and shows what it promises."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_demo_elects_fails_over_and_refuses_the_stale_write_from_a_plain_checkout() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # `python -m cloudlease demo` from the checkout's root, as the README says; -S keeps the
    # venv's site-packages (where cloudlease is installed) out, as on a fresh clone.
    result = subprocess.run(
        [sys.executable, "-S", "-m", "cloudlease", "demo"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "is elected leader" in out
    assert "killing the leader" in out
    assert "failover:" in out
    assert "REFUSES" in out
    assert "result: one leader at a time, stale writes refused" in out
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("workers", [2, 5])
def test_demo_plays_out_with_two_or_more_workers(workers: int) -> None:
    """The killed leader is restarted, so even two workers give a third leader to fence by."""
    result = subprocess.run(
        [sys.executable, "-m", "cloudlease", "demo", "--workers", str(workers)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "result: one leader at a time, stale writes refused" in result.stdout
