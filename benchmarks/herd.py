"""A herd on one DynamoDB lease: cloudlease against a one-UpdateItem reference, same moto.

    .venv/bin/python -m benchmarks.herd [--contenders 16] [--seconds 5] [--rounds 3]

N threads (each with its own client and connection) loop as fast as they can on one lease
name: acquire; on success release at once; on a refusal try again at once. The moto server is
the tests' serialised one (one request at a time, ``tests/dynamodb/moto_server.py --locked``),
so the herd measures what each request costs inside the server. Two variants take turns for
``--rounds`` rounds of ``--seconds`` each, in the same run: ``cloudlease`` (``DynamoDBStore``
acquire / release) and ``reference`` (a hand-written conditional UpdateItem of three
attributes, ``benchmarks.dynamodb.Raw``, the least that grants a lease with a token).

Reported per variant (median over rounds): acquisitions per second, requests per
acquisition, the moto server's CPU per request (its ``/proc`` utime + stime: robust to other
load on the machine, unlike wall time) and this process's CPU per request; and the lease
item's size as DynamoDB bills it, per operation. Results go to
``benchmarks/results/herd-<time>.json``; docs/performance.md shows the one its template names.
Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from benchmarks._common import load_average, log, machine, versions
from benchmarks._servers import servers
from benchmarks._stores import Counts, Spec, dynamodb_client, make_spec, open_store
from benchmarks.dynamodb import Raw
from cloudlease.errors import LeaseHeld

ROOT = Path(__file__).resolve().parent.parent
NAME = "herd"
TTL = 3600.0  # no grant expires during a run: every acquisition follows a release
#: A typical holder id (``default_holder_id()``: host:pid:12 hex digits) and a lease name.
TYPICAL_HOLDER = "ip-10-0-12-34:12345:0123456789ab"


def server_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def loop(attempt: Callable[[], Callable[[], Any] | None], end: float) -> int:
    """Run ``attempt`` until ``end``; it returns the release to call after a grant, or None."""
    grants = 0
    while time.monotonic() < end:
        release = attempt()
        if release is not None:
            grants += 1
            release()
    return grants


def ours(spec: Spec, counts: Counts, me: str) -> Callable[[], Callable[[], Any] | None]:
    store = open_store(spec, counts)
    store.get(NAME)  # connect before the clock starts

    def attempt() -> Callable[[], Any] | None:
        try:
            lease = store.acquire(NAME, me, TTL)
        except LeaseHeld:
            return None
        return lambda: store.release(lease)

    return attempt


def reference(spec: Spec, counts: Counts, me: str) -> Callable[[], Callable[[], Any] | None]:
    raw = Raw(dynamodb_client(spec["endpoint"], counts), spec["table"], name=NAME, holder=me)
    raw.client.get_item(TableName=spec["table"], Key=raw.key)  # connect
    failed = raw.client.exceptions.ConditionalCheckFailedException

    def attempt() -> Callable[[], Any] | None:
        try:
            raw.acquire()
        except failed:
            return None
        return raw.release

    return attempt


VARIANTS = {"cloudlease": ours, "reference": reference}


def one_round(
    variant: str, spec: Spec, contenders: int, seconds: float, moto_pid: int
) -> dict[str, Any]:
    counts = Counts()
    attempts = [VARIANTS[variant](spec, counts, f"contender-{i}") for i in range(contenders)]
    counts.reset()
    start = time.monotonic() + 0.2
    end = start + seconds
    grants = [0] * contenders

    def run(index: int) -> None:
        time.sleep(max(0.0, start - time.monotonic()))
        grants[index] = loop(attempts[index], end)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(contenders)]
    cpu, moto = time.process_time(), server_cpu(moto_pid)
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - start
    cpu, moto = time.process_time() - cpu, server_cpu(moto_pid) - moto
    requests = counts.total()
    return {
        "variant": variant,
        "seconds": round(elapsed, 2),
        "acquisitions": sum(grants),
        "acquisitions_per_s": sum(grants) / elapsed,
        "requests": requests,
        "requests_per_acquisition": requests / max(1, sum(grants)),
        "server_cpu_ms_per_request": 1000 * moto / max(1, requests),
        "client_cpu_ms_per_request": 1000 * cpu / max(1, requests),
    }


def attribute_size(name: str, value: Mapping[str, str]) -> int:
    """Bytes DynamoDB counts for one attribute (its name, then the value: a string's UTF-8
    length; a number's 1 byte per two significant digits, plus 1)."""
    [(kind, raw)] = value.items()
    if kind == "N":
        digits = raw.lstrip("-").replace(".", "").strip("0") or "0"
        return len(name.encode()) + math.ceil(len(digits) / 2) + 1
    return len(name.encode()) + len(raw.encode())


def item_size(item: Mapping[str, Mapping[str, str]]) -> int:
    return sum(attribute_size(name, value) for name, value in item.items())


def item_sizes(spec: Spec) -> dict[str, Any]:
    """The lease item's size after each operation, with a typical holder id and metadata {}
    and with the largest metadata the core accepts; billed write units = ceil(max(before,
    after) / 1 KB), a refused conditional write included."""
    from cloudlease._validation import METADATA_MAX_BYTES

    counts = Counts()
    store = open_store(spec, counts)
    client = store.client  # type: ignore[attr-defined]
    key = {"TableName": spec["table"], "Key": {"name": {"S": "size"}}, "ConsistentRead": True}

    def size() -> int:
        return item_size(client.get_item(**key)["Item"])

    out: dict[str, Any] = {}
    for label, metadata in (
        ("metadata {}", {}),
        ("largest metadata", {"m": "x" * (METADATA_MAX_BYTES - 8)}),
    ):
        lease = store.acquire("size", TYPICAL_HOLDER, 30, metadata)
        acquired = size()
        lease = store.renew(lease)
        renewed = size()
        store.release(lease)
        released = size()
        out[label] = {
            "acquire": acquired,
            "renew": renewed,
            "release": released,
            "write_units": max(math.ceil(n / 1024) for n in (acquired, renewed, released)),
            "item": {k: v for k, v in client.get_item(**key)["Item"].items()},
        }
    return out


def run(contenders: int, seconds: float, rounds: int) -> dict[str, Any]:
    results: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.herd", *sys.argv[1:]]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine(),
        "versions": versions(),
        "load_before": load_average(),
        "contenders": contenders,
        "rounds": [],
    }
    with servers({"dynamodb"}) as running, tempfile.TemporaryDirectory() as tmp:
        if running.moto is None:
            raise SystemExit(f"moto did not start: {running.missing}")
        moto_pid = running.processes[0].process.pid
        for n in range(rounds):
            for variant in VARIANTS if n % 2 == 0 else reversed(VARIANTS):
                spec = make_spec("dynamodb", running, tmp, f"herd-{n}-{variant}")
                assert spec is not None
                row = one_round(variant, spec, contenders, seconds, moto_pid)
                log(
                    f"herd {variant} round {n}: {row['acquisitions_per_s']:.2f} acquisitions/s, "
                    f"{row['requests_per_acquisition']:.1f} requests each, moto "
                    f"{row['server_cpu_ms_per_request']:.2f} ms CPU per request"
                )
                results["rounds"].append(row)
        spec = make_spec("dynamodb", running, tmp, "herd-size")
        assert spec is not None
        results["item_bytes"] = item_sizes(spec)
    results["load_after"] = load_average()
    results["median"] = {
        variant: {
            metric: statistics.median(
                row[metric] for row in results["rounds"] if row["variant"] == variant
            )
            for metric in (
                "acquisitions_per_s",
                "requests_per_acquisition",
                "server_cpu_ms_per_request",
                "client_cpu_ms_per_request",
            )
        }
        for variant in VARIANTS
    }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contenders", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = run(args.contenders, args.seconds, args.rounds)
    path = ROOT / "benchmarks" / "results" / f"herd-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=1, default=str))
    print(json.dumps(results["median"], indent=1))
    print(json.dumps({k: v["write_units"] for k, v in results["item_bytes"].items()}))
    log(f"results: {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
