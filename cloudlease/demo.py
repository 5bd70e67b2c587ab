"""``cloudlease demo``: an election, a failover and a refused stale write, on local SQLite.

Worker processes campaign for one lease on a temporary SQLite store; the leader writes to a
fenced sink with its token. The demo kills the leader (SIGKILL) and times the failover, then
freezes the next leader between its lease check and its write (a GC pause or a frozen Lambda)
until another worker has taken over, and shows the sink refusing the stale token.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LEASE = "demo-job"
WRITE_EVERY = 0.25


# -- the worker (a separate process) ----------------------------------------------------------


def _emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, "t": time.monotonic(), **fields}), flush=True)


def worker(name: str, workdir: Path, ttl: float) -> None:
    """Campaign forever; while leading, write to the fenced sink every WRITE_EVERY seconds."""
    from cloudlease._fenced_sink import FencedSink
    from cloudlease.errors import LeaseLost
    from cloudlease.keeper import FOREVER, hold
    from cloudlease.stores.sqlite import SQLiteStore

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    logging.getLogger("cloudlease").setLevel(logging.CRITICAL)  # the parent narrates
    store = SQLiteStore(workdir / "leases.db")
    sink = FencedSink(workdir / "sink.db")
    pause_flag = workdir / f"pause-{name}"
    _emit("started", pid=os.getpid())
    while True:
        try:
            with hold(store, LEASE, ttl=ttl, wait=FOREVER, holder=name) as held:
                _emit("elected", token=held.token)
                while True:
                    held.ensure()
                    if pause_flag.exists():  # frozen between the check and the write
                        pause_flag.unlink()
                        _emit("paused", token=held.token)
                        os.kill(os.getpid(), signal.SIGSTOP)
                        _emit("resumed", token=held.token)
                    accepted = sink.write(held.token, name, "tick")
                    _emit("write", token=held.token, accepted=accepted)
                    if not accepted:
                        break  # a newer token wrote: we are stale, stop acting
                    time.sleep(WRITE_EVERY)
        except LeaseLost as exc:
            _emit("lost", reason=exc.detail)


# -- the parent -------------------------------------------------------------------------------


@dataclass
class _Worker:
    name: str
    process: subprocess.Popen[str]
    events: list[dict[str, Any]] = field(default_factory=list)


class _Demo:
    def __init__(self, workdir: Path, count: int, ttl: float) -> None:
        self.workdir = workdir
        self.ttl = ttl
        self.start = time.monotonic()
        self.lock = threading.Condition()
        self.print_lock = threading.Lock()
        self.narrated_writes: set[int] = set()
        self.workers: dict[str, _Worker] = {}
        self.env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parent.parent)
        self.env["PYTHONPATH"] = os.pathsep.join(
            filter(None, [package_root, self.env.get("PYTHONPATH")])
        )
        for index in range(1, count + 1):
            self.spawn(f"worker-{index}")

    def spawn(self, name: str) -> None:
        """Start worker ``name`` (again, after a kill: a new process under the same name)."""
        argv = ["worker", name, str(self.workdir), str(self.ttl)]
        process = subprocess.Popen(
            [sys.executable, "-m", "cloudlease.demo", *argv],
            stdout=subprocess.PIPE,
            text=True,
            env=self.env,
        )
        with self.lock:
            self.workers[name] = _Worker(name, process)
        threading.Thread(target=self._read, args=(self.workers[name],), daemon=True).start()

    def say(self, text: str) -> None:
        with self.print_lock:
            print(f"[{time.monotonic() - self.start:5.2f}s] {text}", flush=True)

    def _read(self, worker: _Worker) -> None:
        assert worker.process.stdout is not None
        for line in worker.process.stdout:
            event = json.loads(line)
            self._narrate(worker.name, event)  # before waking the script, so lines stay in order
            with self.lock:
                worker.events.append(event)
                self.lock.notify_all()

    def _narrate(self, name: str, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "elected":
            self.say(f"{name} is elected leader with fencing token {event['token']}")
        elif kind == "paused":
            self.say(
                f"{name} freezes between its lease check and its write (token {event['token']})"
            )
        elif kind == "resumed":
            self.say(f"{name} resumes and writes with its old token {event['token']}")
        elif kind == "write" and event["accepted"] and event["token"] not in self.narrated_writes:
            self.narrated_writes.add(event["token"])
            self.say(f"{name} writes to the fenced sink with token {event['token']}: accepted")
        elif kind == "write" and not event["accepted"]:
            self.say(f"the fenced sink REFUSES {name}'s write with stale token {event['token']}")
        elif kind == "lost":
            self.say(f"{name} steps down: {event['reason']}")

    def wait_for(self, test: Any, timeout: float) -> dict[str, Any] | None:
        """Wait until ``test(name, event)`` matches a new event; return it (or None)."""
        give_up = time.monotonic() + timeout
        seen = {name: len(w.events) for name, w in self.workers.items()}
        with self.lock:
            while True:
                for name, w in self.workers.items():
                    for event in w.events[seen.get(name, 0) :]:
                        if test(name, event):
                            return dict(event, worker=name)
                    seen[name] = len(w.events)
                left = give_up - time.monotonic()
                if left <= 0:
                    return None
                self.lock.wait(left)

    def stop(self) -> None:
        for w in self.workers.values():
            if w.process.poll() is None:
                w.process.send_signal(signal.SIGCONT)
                w.process.terminate()
        for w in self.workers.values():
            try:
                w.process.wait(5)
            except subprocess.TimeoutExpired:
                w.process.kill()


def run_demo(workers: int = 3, ttl: float = 2.0) -> int:
    """Run the demo; returns 0 when failover and fencing behaved as promised."""
    from cloudlease._fenced_sink import FencedSink, check_fencing
    from cloudlease.errors import ConfigError

    if not 2 <= workers <= 16 or not 0.5 <= ttl <= 10:
        raise ConfigError("the demo takes 2-16 workers and a ttl of 0.5-10 seconds")
    with tempfile.TemporaryDirectory(prefix="cloudlease-demo-") as tmp:
        workdir = Path(tmp)
        print(
            f"cloudlease demo: {workers} worker processes campaign for lease {LEASE!r} "
            f"(ttl {ttl:g}s) on sqlite:///{workdir / 'leases.db'}"
        )
        demo = _Demo(workdir, workers, ttl)
        try:
            return _script(demo, workdir, ttl, FencedSink, check_fencing)
        finally:
            demo.stop()


def _script(demo: _Demo, workdir: Path, ttl: float, sink_type: Any, check: Any) -> int:
    elected = demo.wait_for(lambda _n, e: e["event"] == "elected", 10)
    if elected is None:
        demo.say("no worker was elected within 10s")
        return 1
    first = elected["worker"]
    time.sleep(ttl)  # let it lead (and renew) for a while

    demo.say(f"killing the leader {first} with SIGKILL: it cannot release its lease")
    demo.workers[first].process.kill()
    killed_at = time.monotonic()
    successor = demo.wait_for(lambda n, e: n != first and e["event"] == "elected", ttl * 3 + 5)
    if successor is None:
        demo.say("no failover happened")
        return 1
    failover = successor["t"] - killed_at
    demo.say(
        f"failover: {successor['worker']} took over {failover:.2f}s after the kill (ttl {ttl:g}s)"
    )

    second = successor["worker"]
    demo.say(f"restarting {first} as a new process: it campaigns again")
    demo.spawn(first)
    demo.wait_for(lambda n, e: n == second and e["event"] == "write", 5)
    (workdir / f"pause-{second}").touch()
    paused = demo.wait_for(lambda n, e: n == second and e["event"] == "paused", 5)
    third = demo.wait_for(
        lambda n, e: n != second and e["event"] == "write" and e["accepted"], ttl * 3 + 5
    )
    if paused is None or third is None:
        demo.say("the stale-leader scene did not play out")
        return 1
    demo.say(f"{third['worker']} took over and wrote with token {third['token']}; waking {second}")
    demo.workers[second].process.send_signal(signal.SIGCONT)
    refused = demo.wait_for(lambda n, e: n == second and e["event"] == "write", 5)

    sink = sink_type(workdir / "sink.db")
    history = sink.history()
    sink.close()
    problems = check(history)
    accepted = [w for w in history if w.accepted]
    tokens = sorted({w.token for w in accepted})
    print()
    print("summary")
    print(f"  leaders, in order: {first} -> {second} -> {third['worker']}")
    print(f"  failover after SIGKILL: {failover:.2f}s (lease ttl {ttl:g}s)")
    print(f"  fenced sink: {len(accepted)} writes accepted, tokens {tokens}")
    ok = refused is not None and not refused["accepted"] and not problems
    if refused is not None and not refused["accepted"]:
        print(f"  stale write from {second} with token {refused['token']}: refused")
    for problem in problems:
        print(f"  FENCING VIOLATION: {problem}")
    print("  result:", "one leader at a time, stale writes refused" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]))
