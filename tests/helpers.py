"""Helpers shared by the tests: run the ``cloudlease`` command, wait for a condition.

Fixtures live in ``conftest.py``; what a test calls directly lives here.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudlease.testing import FakeClock

ROOT = Path(__file__).resolve().parent.parent

#: ``cloudlease`` as the tests start it: this interpreter, so the checkout is what runs.
PYTHON_CLOUDLEASE = (sys.executable, "-m", "cloudlease")


def run_cli(
    *args: str,
    timeout: float = 60,
    program: Sequence[str] = PYTHON_CLOUDLEASE,
    **options: Any,
) -> subprocess.CompletedProcess[str]:
    """Run ``cloudlease ARGS`` from the repository root to its end, output captured as text.

    ``options`` go to ``subprocess.run`` (``env``, ``input`` ...); ``program`` replaces
    ``python -m cloudlease`` (e.g. the installed console script).
    """
    result: subprocess.CompletedProcess[str] = subprocess.run(
        [*program, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
        **options,
    )
    return result


def start_cli(*args: str, **options: Any) -> subprocess.Popen[str]:
    """Start ``cloudlease ARGS`` from the repository root; ``options`` go to ``Popen``."""
    return subprocess.Popen([*PYTHON_CLOUDLEASE, *args], cwd=ROOT, text=True, **options)


def eventually(
    test: Callable[[], bool],
    timeout: float = 5.0,
    *,
    what: str = "condition",
    poll: float = 0.002,
) -> None:
    """Wait (real time) until ``test()`` is true; fail the test after ``timeout`` seconds."""
    give_up = time.monotonic() + timeout
    while not test():
        assert time.monotonic() < give_up, f"{what} not reached in {timeout:g}s"
        time.sleep(poll)


def run_args(store: str, lease: str, *command: str, **options: object) -> list[str]:
    """The arguments of ``cloudlease run``: the store, the lease, each option as
    ``--name value`` in the order given (``skip_exit_code`` -> ``--skip-exit-code``), then
    ``--`` and ``command``."""
    flags: list[str] = []
    for name, value in options.items():
        flags += [f"--{name.replace('_', '-')}", str(value)]
    return ["run", "--store", store, "--lease", lease, *flags, "--", *command]


def only_record(status: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The one record a ``cloudlease status --json`` run listed (the run must succeed)."""
    assert status.returncode == 0, status.stderr
    [record] = json.loads(status.stdout)
    assert isinstance(record, dict)
    return record


def freeze_and_replace(
    spawn: Callable[[], subprocess.Popen[bytes]],
    count: int,
    *,
    until: float,
    rng: random.Random,
    longest_freeze: float,
    wait: float,
) -> int:
    """Keep ``count`` processes from ``spawn()`` running until ``time.monotonic()`` reaches
    ``until``: every few tenths of a second one is frozen whole (SIGSTOP, as a GC pause or a
    frozen Lambda) for up to ``longest_freeze`` s, and any that ended or crashed is replaced.
    Then waits up to ``wait`` s for each to end; returns how many freezes there were."""
    workers = [spawn() for _ in range(count)]
    freezes = 0
    while time.monotonic() < until:
        time.sleep(rng.uniform(0.2, 0.6))
        victim = rng.choice(workers)
        if victim.poll() is None:
            victim.send_signal(signal.SIGSTOP)
            time.sleep(rng.uniform(0.2, longest_freeze))
            victim.send_signal(signal.SIGCONT)
            freezes += 1
        workers = [w if w.poll() is None else spawn() for w in workers]
    for worker in workers:
        worker.wait(wait)
    return freezes


def advance_while(
    clock: FakeClock, busy: Callable[[], bool], *, step: float | None = None, poll: float = 0.2
) -> None:
    """While ``busy()``: each time a thread sleeps on ``clock``, move the clock on, by ``step``
    seconds or to the next sleeper's deadline (a thread still computing is left to it)."""
    while busy():
        try:
            clock.wait_for_sleepers(1, timeout=poll)
        except TimeoutError:
            continue
        clock.advance(step if step is not None else (clock.next_deadline() or 0.0))
