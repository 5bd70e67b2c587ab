"""Section 5: N contenders on one lease for a fixed time.

Each contender is a thread with its own store object (its own client and connection, as a
separate process would have). It loops: wait for the lease with ``hold(wait=...)``, hold it
for ``work`` seconds (renewed by the keeper), release, pause briefly, contend again. Reported:
acquisitions (holder changes), store requests in total, and the request rate of an idle
contender: requests made by contender threads while waiting, divided by the seconds they
spent waiting (the keeper's renewals and the releases are the holder's, not counted there).
"""

from __future__ import annotations

import random
import threading
import time
from typing import Any

from benchmarks._common import log
from benchmarks._stores import Counts, Spec, open_store
from cloudlease.errors import LeaseHeld, StoreUnavailable
from cloudlease.keeper import hold


def run(spec: Spec, contenders: int, seconds: float, ttl: float, seed: int) -> dict[str, Any]:
    counts = Counts()
    stores = [open_store(spec, counts) for _ in range(contenders)]
    for store in stores:
        store.get("contended")  # connect before the clock starts
    counts.reset()
    work = min(ttl / 4, 0.5)
    start = time.monotonic() + 0.5
    end = start + seconds
    lock = threading.Lock()
    totals = {"acquisitions": 0, "wait_s": 0.0, "wait_requests": 0, "errors": 0}

    def contend(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        store = stores[index]
        me = threading.current_thread().name
        time.sleep(max(0.0, start - time.monotonic()))
        while time.monotonic() < end:
            before, began = counts.of_thread(me), time.monotonic()
            try:
                with hold(store, "contended", ttl=ttl, wait=end - began, holder=me):
                    waited, asked = time.monotonic() - began, counts.of_thread(me) - before
                    with lock:
                        totals["acquisitions"] += 1
                        totals["wait_s"] += waited
                        totals["wait_requests"] += asked
                    time.sleep(work)
            except (LeaseHeld, StoreUnavailable) as exc:
                with lock:
                    totals["wait_s"] += time.monotonic() - began
                    totals["wait_requests"] += counts.of_thread(me) - before
                    totals["errors"] += isinstance(exc, StoreUnavailable)
            time.sleep(rng.uniform(0, 0.1))

    threads = [
        threading.Thread(target=contend, args=(i,), name=f"contender-{i}", daemon=True)
        for i in range(contenders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + ttl * 3 + 60)
    elapsed = time.monotonic() - start
    total = counts.total()
    for store in stores:
        store.close()
    result = {
        "contenders": contenders,
        "seconds": seconds,
        "elapsed": round(elapsed, 2),
        "ttl": ttl,
        "work_s": work,
        "acquisitions": totals["acquisitions"],
        "requests": total,
        "requests_by_op": counts.by_op(),
        "requests_per_s": total / elapsed,
        "unavailable_errors": totals["errors"],
        "idle_wait_s": round(totals["wait_s"], 2),
        "idle_requests": totals["wait_requests"],
        "idle_rps_per_contender": totals["wait_requests"] / totals["wait_s"]
        if totals["wait_s"]
        else float("nan"),
    }
    log(
        f"contention {spec['kind']} x{contenders}: {result['acquisitions']} acquisitions, "
        f"{total} requests, {result['idle_rps_per_contender']:.2f} req/s per idle contender"
    )
    return result
