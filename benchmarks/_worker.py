"""A contender process for the failover and peer benchmarks.

``python -m benchmarks._worker MODE SPEC_JSON NAME TTL`` opens the store, prints ``ready``,
waits for the lease, prints ``acquired`` and holds it (renewing, each renewal printed) until
it reads ``release`` on stdin or is killed. Every event is one JSON line on stdout with
``t`` (time.monotonic(), shared by the processes of one host) and, where known, the lease's
``expires_at`` (epoch ms). Modes: ``cloudlease`` (``hold(wait=FOREVER)``), ``pdl``
(python-dynamodb-lock's ``acquire_lock`` and heartbeat thread) and ``azure-plain`` (a bare
``BlobLeaseClient`` polled and renewed by hand, the pattern users write without a library).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from typing import Any

_OUT = threading.Lock()


def emit(event: str, **fields: Any) -> None:
    """One JSON line, written whole (the renewal thread and the main thread both emit)."""
    line = {"event": event, "t": time.monotonic(), "wall_ms": time.time_ns() // 1_000_000}
    text = json.dumps({**line, **fields}) + "\n"
    with _OUT:
        sys.stdout.write(text)
        sys.stdout.flush()


def wait_for_release() -> None:
    for line in sys.stdin:
        if line.strip() == "release":
            return
    time.sleep(3600)  # stdin closed: the parent is gone; it kills us


def run_cloudlease(spec: dict[str, Any], name: str, ttl: float) -> None:
    from benchmarks._stores import Counts, open_store, unwrap
    from cloudlease.keeper import FOREVER, hold

    options = {}
    if spec.get("takeover_allowance") is not None:  # the takeover benchmark sets it
        options["takeover_allowance"] = spec["takeover_allowance"]
    store = unwrap(open_store(spec, Counts(), **options))
    store.get(name)  # opens the connection: not part of the measured failover
    renew = store.renew

    def renew_and_report(lease: Any, ttl: Any = None) -> Any:
        renewed = renew(lease, ttl)
        emit("renewed", expires_at=renewed.record.expires_at)
        return renewed

    store.renew = renew_and_report  # type: ignore[method-assign]
    emit("ready", takeover_allowance=store.takeover_allowance)
    with hold(store, name, ttl=ttl, wait=FOREVER, holder=f"w{os.getpid()}") as held:
        emit("acquired", expires_at=held.lease.record.expires_at, token=held.token)
        wait_for_release()
        emit("releasing")
    emit("released")


def run_pdl(spec: dict[str, Any], name: str, ttl: float) -> None:
    import datetime

    from benchmarks import peers

    client = peers.lock_client(spec, ttl)
    client._dynamodb_table.get_item(Key={"lock_key": "warm", "sort_key": "-"})
    send = client._send_heartbeat

    def beat_and_report(lock: Any) -> None:
        send(lock)
        emit("renewed", expires_at=time.time_ns() // 1_000_000 + round(ttl * 1000))

    client._send_heartbeat = beat_and_report
    emit("ready", takeover_allowance=0.0)
    lock = client.acquire_lock(
        name,
        retry_period=datetime.timedelta(seconds=ttl / 3),
        retry_timeout=datetime.timedelta(hours=1),
    )
    emit("acquired", expires_at=time.time_ns() // 1_000_000 + round(ttl * 1000))
    wait_for_release()
    emit("releasing")
    lock.release()
    emit("released")


def run_azure_plain(spec: dict[str, Any], name: str, ttl: float) -> None:
    from azure.core.exceptions import HttpResponseError, ResourceExistsError
    from azure.storage.blob import BlobLeaseClient

    from benchmarks._stores import azure_container

    blob = azure_container(spec["port"], spec["container"], None).get_blob_client(f"plain/{name}")
    with contextlib.suppress(ResourceExistsError, HttpResponseError):
        blob.upload_blob(b"")  # may exist already (and be leased)
    seconds = round(ttl)
    lease = BlobLeaseClient(blob)
    emit("ready", takeover_allowance=0.0)
    while True:
        try:
            lease.acquire(seconds)
            break
        except HttpResponseError:
            time.sleep(min(1.0, seconds / 3))
    emit("acquired", expires_at=time.time_ns() // 1_000_000 + seconds * 1000)
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            lease.renew()
            emit("renewed", expires_at=time.time_ns() // 1_000_000 + seconds * 1000)

    threading.Thread(target=renew, daemon=True).start()
    wait_for_release()
    stop.set()
    emit("releasing")
    lease.release()
    emit("released")


def main() -> None:
    mode, spec, name, ttl = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    runners = {"cloudlease": run_cloudlease, "pdl": run_pdl, "azure-plain": run_azure_plain}
    runners[mode](spec, name, ttl)


if __name__ == "__main__":
    main()
