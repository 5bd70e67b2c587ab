"""Section 6: the locks users would pick instead, side by side with cloudlease in the same run.

- ``python-dynamodb-lock`` 0.9.1 (the PyPI emulation of AWS's DynamoDB lock client) on the
  same moto server: its acquire_lock / heartbeat / release_lock next to our acquire / renew /
  release (requests per operation and A/B latency), and its failover after a SIGKILL.
- Azure: the plain blob-lease pattern written with the SDK (``BlobLeaseClient`` acquire /
  renew / release on one blob, no token, no record), next to AzureBlobStore.
"""

from __future__ import annotations

import datetime
import random
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks._common import log, ratios, summary, timed
from benchmarks._stores import Counts, Spec, azure_container, dynamodb_client, open_store, unwrap

PDL_TABLE = "pdl-locks"


def lock_client(spec: Spec, ttl: float, counts: Counts | None = None) -> Any:
    """A DynamoDBLockClient on the moto server of ``spec``, heartbeats every ttl/3.

    Compatibility: 0.9.1 imports and runs unchanged on Python 3.11 and current boto3. It
    wants a boto3 *resource*; we build it on a client configured as our store's (no retries)
    so both sides send the same HTTP requests through the same botocore stack.
    """
    import boto3
    from python_dynamodb_lock.python_dynamodb_lock import (  # type: ignore[import-untyped]
        DynamoDBLockClient,
    )

    client = dynamodb_client(spec["endpoint"], counts)
    resource = boto3.resource(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url=spec["endpoint"],
        config=client.meta.config,
    )
    resource.meta.client = client  # the counting client under the resource
    return DynamoDBLockClient(
        resource,
        table_name=PDL_TABLE,
        heartbeat_period=datetime.timedelta(seconds=ttl / 3),
        safe_period=datetime.timedelta(seconds=ttl * 2 / 3),
        lease_duration=datetime.timedelta(seconds=ttl),
    )


def shut(client: Any) -> None:
    """Stop a lock client's threads without ``close()``.

    Compatibility shim: 0.9.1's ``close()`` joins its two daemon threads, which sleep a whole
    heartbeat period in ``time.sleep`` (an hour for the counting clients below); setting the
    flag ``close()`` sets lets them end at their next wake-up instead.
    """
    client._shutting_down = True


def create_pdl_table(spec: Spec) -> None:
    from python_dynamodb_lock.python_dynamodb_lock import DynamoDBLockClient

    client = dynamodb_client(spec["endpoint"], None)
    if PDL_TABLE not in client.list_tables()["TableNames"]:
        DynamoDBLockClient.create_dynamodb_table(client, table_name=PDL_TABLE)


def _ab(
    pairs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]], rounds: int, seed: int
) -> dict[str, Any]:
    """Time each (ours, theirs) pair back to back in random order; ratio = theirs / ours."""
    rng = random.Random(seed)
    samples: dict[str, tuple[list[float], list[float]]] = {op: ([], []) for op in pairs}
    warmup = max(3, rounds // 10)
    for round_no in range(warmup + rounds):
        for op, (ours, theirs) in pairs.items():
            if rng.random() < 0.5:
                mine, peer = timed(ours), timed(theirs)
            else:
                peer = timed(theirs)
                mine = timed(ours)
            if round_no >= warmup:
                samples[op][0].append(mine)
                samples[op][1].append(peer)
    return {
        op: {
            "ours_ms": summary([x * 1000 for x in mine]),
            "peer_ms": summary([x * 1000 for x in peer]),
            "peer_over_ours": ratios(peer, mine),
        }
        for op, (mine, peer) in samples.items()
    }


def dynamodb_lock(spec: Spec, rounds: int, seed: int, ttl: float) -> dict[str, Any]:
    """python-dynamodb-lock next to DynamoDBStore: requests per operation and latency."""
    create_pdl_table(spec)
    counts = Counts()
    # Long heartbeat period: the background thread must not beat during the counted calls.
    peer = lock_client(spec, 3600.0, counts)
    store = open_store(spec, counts)
    requests: dict[str, dict[str, dict[str, int]]] = {"peer": {}, "ours": {}}

    def count(side: str, label: str, action: Callable[[], Any]) -> Any:
        counts.reset()
        result = action()
        requests[side][label] = counts.by_op()
        return result

    lock = count("peer", "acquire (free)", lambda: peer.acquire_lock("count"))
    count("peer", "renew (heartbeat)", lambda: peer._send_heartbeat(lock))
    count("peer", "get", lambda: peer._get_lock_from_dynamodb("count", "-"))
    other = lock_client(spec, 3600.0, counts)
    counts.reset()
    try:  # held elsewhere: one attempt (retry_timeout shorter than retry_period)
        other.acquire_lock(
            "count",
            retry_period=datetime.timedelta(seconds=1),
            retry_timeout=datetime.timedelta(milliseconds=1),
        )
    except Exception:
        requests["peer"]["acquire (held elsewhere)"] = counts.by_op()
    shut(other)
    count("peer", "release", lambda: peer.release_lock(lock))
    lease = count("ours", "acquire (free)", lambda: store.acquire("count", "me", ttl))
    lease = count("ours", "renew (heartbeat)", lambda: store.renew(lease))
    count("ours", "get", lambda: store.get("count"))
    counts.reset()
    try:
        store.acquire("count", "other", ttl)
    except Exception:
        requests["ours"]["acquire (held elsewhere)"] = counts.by_op()
    count("ours", "release", lambda: store.release(lease))

    real = unwrap(store)
    state: dict[str, Any] = {}

    def ours_acquire() -> None:
        state["lease"] = real.acquire("ab", "me", ttl)

    def ours_renew() -> None:
        state["lease"] = real.renew(state["lease"])

    def peer_acquire() -> None:
        state["lock"] = peer.acquire_lock("ab-peer")

    pairs = {
        "acquire": (ours_acquire, peer_acquire),
        "renew (heartbeat)": (ours_renew, lambda: peer._send_heartbeat(state["lock"])),
        "release": (lambda: real.release(state["lease"]), lambda: peer.release_lock(state["lock"])),
    }
    latency = _ab(pairs, rounds, seed)
    shut(peer)
    log("peers: python-dynamodb-lock measured")
    return {"requests": requests, "latency": latency, "rounds": rounds}


def azure_plain(spec: Spec, rounds: int, seed: int) -> dict[str, Any]:
    """The plain blob-lease pattern next to AzureBlobStore on the same Azurite."""
    from azure.storage.blob import BlobLeaseClient

    counts = Counts()
    container = azure_container(spec["port"], spec["container"], counts)
    blob = container.get_blob_client("plain/ab")
    blob.upload_blob(b"")
    store = open_store(spec, counts)
    requests: dict[str, dict[str, dict[str, int]]] = {"peer": {}, "ours": {}}
    state: dict[str, Any] = {}

    def count(side: str, label: str, action: Callable[[], Any]) -> Any:
        counts.reset()
        try:
            return action()
        except Exception:
            return None
        finally:
            requests[side][label] = counts.by_op()

    def plain_acquire() -> None:
        state["plain"] = BlobLeaseClient(blob, str(uuid.uuid4()))
        state["plain"].acquire(15)

    count("peer", "acquire (free)", plain_acquire)
    count("peer", "acquire (held elsewhere)", lambda: BlobLeaseClient(blob).acquire(15))

    def plain_renew() -> None:
        state["plain"].renew()

    def plain_release() -> None:
        state["plain"].release()

    count("peer", "renew", plain_renew)
    count("peer", "release", plain_release)
    store.release(store.acquire("ab", "me", 15))  # the blob exists, as the plain one does
    lease = count("ours", "acquire (free)", lambda: store.acquire("ab", "me", 15))
    count("ours", "acquire (held elsewhere)", lambda: store.acquire("ab", "other", 15))
    lease = count("ours", "renew", lambda: store.renew(lease))
    count("ours", "release", lambda: store.release(lease))

    real = unwrap(store)

    def ours_acquire() -> None:
        state["lease"] = real.acquire("ab", "me", 15)

    def ours_renew() -> None:
        state["lease"] = real.renew(state["lease"])

    pairs = {
        "acquire": (ours_acquire, plain_acquire),
        "renew": (ours_renew, plain_renew),
        "release": (lambda: real.release(state["lease"]), plain_release),
    }
    latency = _ab(pairs, rounds, seed)
    log("peers: plain Azure blob lease measured")
    return {"requests": requests, "latency": latency, "rounds": rounds}


Locker = tuple[Callable[[float], Any], Callable[[Any], None]]


def _contend(
    lockers: list[Locker], counts: Counts, seconds: float, work: float, seed: int
) -> dict[str, Any]:
    """The contention loop of ``benchmarks/contention.py`` for a peer's acquire / release."""
    import threading
    import time

    start = time.monotonic() + 0.5
    end = start + seconds
    lock = threading.Lock()
    totals = {"acquisitions": 0, "wait_s": 0.0, "wait_requests": 0}

    def contend(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        acquire, release = lockers[index]
        me = threading.current_thread().name
        time.sleep(max(0.0, start - time.monotonic()))
        while time.monotonic() < end:
            before, began = counts.of_thread(me), time.monotonic()
            handle = acquire(end - began)
            with lock:
                totals["wait_s"] += time.monotonic() - began
                totals["wait_requests"] += counts.of_thread(me) - before
                totals["acquisitions"] += handle is not None
            if handle is None:
                break  # it waited until (about) the end
            time.sleep(work)
            release(handle)
            time.sleep(rng.uniform(0, 0.1))

    threads = [
        threading.Thread(target=contend, args=(i,), name=f"peer-contender-{i}", daemon=True)
        for i in range(len(lockers))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.monotonic() - start
    total = counts.total()
    return {
        "contenders": len(lockers),
        "seconds": seconds,
        "elapsed": round(elapsed, 2),
        "work_s": work,
        "acquisitions": totals["acquisitions"],
        "requests": total,
        "requests_by_op": counts.by_op(),
        "requests_per_s": total / elapsed,
        "unavailable_errors": 0,
        "idle_wait_s": round(totals["wait_s"], 2),
        "idle_requests": totals["wait_requests"],
        "idle_rps_per_contender": totals["wait_requests"] / totals["wait_s"]
        if totals["wait_s"]
        else float("nan"),
    }


def pdl_contention(spec: Spec, contenders: int, seconds: float, ttl: float, seed: int) -> Any:
    """N python-dynamodb-lock clients on one lock, as ``benchmarks/contention.py`` runs ours."""
    from python_dynamodb_lock.python_dynamodb_lock import DynamoDBLockError

    create_pdl_table(spec)
    counts = Counts()
    clients = [lock_client(spec, ttl, counts) for _ in range(contenders)]
    counts.reset()

    def locker(client: Any) -> Locker:
        def acquire(wait: float) -> Any:
            try:
                return client.acquire_lock(
                    "contended",
                    retry_period=datetime.timedelta(seconds=ttl / 3),
                    retry_timeout=datetime.timedelta(seconds=max(wait, 0.001)),
                )
            except DynamoDBLockError:
                return None

        return acquire, client.release_lock

    result = _contend([locker(c) for c in clients], counts, seconds, min(ttl / 4, 0.5), seed)
    for client in clients:
        shut(client)
    result["ttl"] = ttl
    log(f"peers: python-dynamodb-lock x{contenders}: {result['acquisitions']} acquisitions")
    return result


def azure_plain_contention(spec: Spec, contenders: int, seconds: float, seed: int) -> Any:
    """N plain blob-lease pollers on one blob (acquire every second until it is free)."""
    import time

    from azure.core.exceptions import HttpResponseError
    from azure.storage.blob import BlobLeaseClient

    counts = Counts()
    blobs = [
        azure_container(spec["port"], spec["container"], counts).get_blob_client("plain/c")
        for _ in range(contenders)
    ]
    blobs[0].upload_blob(b"", overwrite=True)
    counts.reset()

    def locker(blob: Any) -> Locker:
        def acquire(wait: float) -> Any:
            give_up = time.monotonic() + wait
            while True:
                lease = BlobLeaseClient(blob)
                try:
                    lease.acquire(15)
                    return lease
                except HttpResponseError:
                    if time.monotonic() + 1.0 > give_up:
                        return None
                    time.sleep(1.0)

        return acquire, lambda lease: lease.release()

    result = _contend([locker(b) for b in blobs], counts, seconds, 0.5, seed)
    result["ttl"] = 15.0
    log(f"peers: plain blob lease x{contenders}: {result['acquisitions']} acquisitions")
    return result
