"""A contender process for multi-process tests: campaign, act under the lease, pause, crash.

Run as ``python -m tests.contention URL SINK LOG NAME SECONDS SEED TTL``. It appends JSON lines
to LOG: ``acquired`` (token, t, deadline), ``claim`` (token, t, deadline) right before each
fenced write and ``releasing`` (token, t) when it stops acting, all on ``time.monotonic()``,
which every process on one host shares.
``check_history`` turns those lines into violations.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from cloudlease.errors import LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.keeper import hold
from cloudlease.testing.sink import FencedSink
from cloudlease.urls import open_store

LEASE = "contended"


def contend(
    url: str, sink_path: Path, log_path: Path, name: str, seconds: float, seed: int, ttl: float
) -> None:
    store = open_store(url)
    sink = FencedSink(sink_path)
    rng = random.Random(seed)
    end = time.monotonic() + seconds
    with log_path.open("a") as log:

        def emit(event: str, **fields: Any) -> None:
            log.write(json.dumps({"event": event, "holder": name, **fields}) + "\n")
            log.flush()

        while time.monotonic() < end:
            try:
                with hold(store, LEASE, ttl=ttl, wait=rng.uniform(0, ttl), holder=name) as held:
                    emit(
                        "acquired",
                        token=held.token,
                        t=time.monotonic(),
                        deadline=held.lease.deadline,
                    )
                    for _ in range(rng.randint(1, 4)):
                        held.ensure()
                        emit(
                            "claim",
                            token=held.token,
                            t=time.monotonic(),
                            deadline=held.lease.deadline,
                        )
                        sink.write(held.token, name)
                        time.sleep(rng.uniform(0, ttl / 4))
                    if rng.random() < 0.15:
                        emit("crash")
                        os._exit(0)  # a crash: the lease is never released
                    emit("releasing", token=held.token, t=time.monotonic())
            except (LeaseHeld, LeaseLost, StoreUnavailable):
                pass
            time.sleep(rng.uniform(0, ttl / 4))


def check_history(lines: list[dict[str, Any]]) -> tuple[list[str], int]:
    """Violations of "one holder at a time" and token order; and how many tenures there were."""
    tenures: dict[int, dict[str, Any]] = {}
    released: dict[int, float] = {}
    for line in lines:
        if line["event"] == "releasing":
            released[line["token"]] = line["t"]
        if line["event"] not in ("acquired", "claim"):
            continue
        tenure = tenures.setdefault(
            line["token"], {"holder": line["holder"], "start": line["t"], "end": line["deadline"]}
        )
        if tenure["holder"] != line["holder"]:
            return [f"token {line['token']} held by {tenure['holder']} and {line['holder']}"], 0
        tenure["start"] = min(tenure["start"], line["t"])
        tenure["end"] = max(tenure["end"], line["deadline"])
    for token, when in released.items():  # it stopped acting when it released
        tenures[token]["end"] = min(tenures[token]["end"], when)
    ordered = sorted(tenures.items(), key=lambda item: item[1]["start"])
    problems = []
    for (token_a, a), (token_b, b) in itertools.pairwise(ordered):
        if b["start"] < a["end"]:
            problems.append(
                f"{b['holder']} (token {token_b}) acted from {b['start']:.3f} while "
                f"{a['holder']} (token {token_a}) was valid until {a['end']:.3f}"
            )
        if token_b <= token_a:
            problems.append(f"token {token_b} was granted after token {token_a}")
    return problems, len(tenures)


if __name__ == "__main__":
    url, sink, log, name, seconds, seed, ttl = sys.argv[1:8]
    contend(url, Path(sink), Path(log), name, float(seconds), int(seed), float(ttl))
