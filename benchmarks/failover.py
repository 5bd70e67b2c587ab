"""Section 3: failover. The holder process is SIGKILLed (or stops gracefully): how long until
another process holds the lease?

Trials form a chain of worker processes (``benchmarks/_worker.py``): the holder holds and
renews; the next worker is started, opens its store, and waits for the lease the way users
wait (``hold(wait=FOREVER)``, which sleeps until the holder's expiry or ``retry_every``).
After a random pause (so the kill falls anywhere in the renewal cycle) the parent SIGKILLs the
holder, or asks it to release; the time is from the kill (or the start of the release) to the
``acquired`` line of the waiting worker, both on the host's monotonic clock. The theoretical
minimum of a kill is the lease time left at the kill (the last ``expires_at`` the holder wrote
minus the wall clock at the kill), plus the takeover allowance the contenders wait by design.

``takeover`` repeats the kill trials with the store's default takeover allowance and with 0,
and reports the time from the holder's last renewal (its ``expires_at - ttl``, i.e. when the
lease was last known alive) to the new holder's grant, over the ttl.

    .venv/bin/python -m benchmarks --only takeover --no-doc [--stores sqlite dynamodb ...]
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

from benchmarks._common import log, summary
from benchmarks._stores import Spec
from tests.emulators import ROOT


class Worker:
    """One ``benchmarks._worker`` process and the events it printed."""

    def __init__(self, mode: str, spec: Spec, name: str, ttl: float) -> None:
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self.process = subprocess.Popen(
            [sys.executable, "-m", "benchmarks._worker", mode, json.dumps(spec), name, str(ttl)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
            cwd=ROOT,
            start_new_session=True,
        )
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.last_expiry: int | None = None
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if "expires_at" in event:
                self.last_expiry = event["expires_at"]
            self.events.put(event)

    def wait_for(self, name: str, timeout: float) -> dict[str, Any]:
        give_up = time.monotonic() + timeout
        while True:
            left = give_up - time.monotonic()
            if left <= 0:
                self.stderr.seek(0)
                tail = self.stderr.read().decode(errors="replace")[-2000:]
                raise TimeoutError(
                    f"worker {self.process.pid}: no {name!r} within {timeout}s; stderr: {tail}"
                )
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event["event"] == name:
                return event

    def release(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("release\n")
        self.process.stdin.flush()

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            self.kill()
        self.stderr.close()


def run(
    mode: str, spec: Spec, ttl: float, kills: int, graceful: int, seed: int, name: str = "failover"
) -> dict[str, Any]:
    """Kill and graceful trials on one store; times in seconds."""
    rng = random.Random(seed)
    renew_every = ttl / 3
    plan = ["kill"] * kills + ["graceful"] * graceful
    rng.shuffle(plan)
    timeout = ttl * 4 + 60
    results: dict[str, list[dict[str, float]]] = {"kill": [], "graceful": []}
    allowance = 0.0
    holder = Worker(mode, spec, name, ttl)
    workers = [holder]
    try:
        holder.wait_for("acquired", timeout)
        for kind in plan:
            waiter = Worker(mode, spec, name, ttl)
            workers.append(waiter)
            allowance = waiter.wait_for("ready", timeout).get("takeover_allowance", 0.0)
            time.sleep(rng.uniform(0.2, 0.2 + renew_every))
            if kind == "kill":
                expiry = holder.last_expiry
                wall_ms = time.time_ns() // 1_000_000
                started = time.monotonic()
                holder.kill()
                left = max(0.0, (expiry - wall_ms) / 1000) if expiry else float("nan")
                alive = (expiry - round(ttl * 1000) - wall_ms) / 1000 if expiry else float("nan")
            else:
                holder.release()
                started = holder.wait_for("releasing", timeout)["t"]
                left = alive = 0.0
            acquired = waiter.wait_for("acquired", timeout)["t"]
            took = acquired - started
            # From the last renewal (when the lease was last known alive) to the new grant.
            results[kind].append({"took": took, "left": left, "since_renewal": took - alive})
            holder.stop()
            holder = waiter
    finally:
        for worker in workers:
            worker.stop()
    out: dict[str, Any] = {"ttl": ttl, "takeover_allowance": allowance, "mode": mode}
    for kind, trials in results.items():
        out[kind] = {
            "trials": trials,
            "took": summary([t["took"] for t in trials]),
            "left": summary([t["left"] for t in trials]),
            "over_minimum": summary([t["took"] - t["left"] for t in trials]),
            "since_renewal_over_ttl": summary([t["since_renewal"] / ttl for t in trials]),
        }
    took = out["kill"]["took"].get("median", float("nan"))
    log(f"failover {mode} {spec['kind']}: kill median {took:.2f}s over {len(results['kill'])}")
    return out


def takeover(spec: Spec, ttl: float, kills: int, seed: int) -> dict[str, Any]:
    """Kill trials with the store's default takeover allowance and with 0: after a crash, how
    long from the holder's last renewal to the next grant, over the ttl."""
    out: dict[str, Any] = {}
    for label, allowance in (("default", None), ("zero", 0.0)):
        trials = run("cloudlease", {**spec, "takeover_allowance": allowance}, ttl, kills, 0, seed)
        out[label] = {
            "takeover_allowance": trials["takeover_allowance"],
            "ttl": ttl,
            "kill": trials["kill"],
        }
    return out
