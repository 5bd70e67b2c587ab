"""Measure the Azure Blob store against raw azure-storage-blob lease calls on one Azurite.

    .venv/bin/python -m benchmarks.azure_blob [--rounds 200]

Starts Azurite on a free loopback port (scripts/emulators.sh installs it), then alternates,
round by round, cloudlease's acquire / renew / release with the raw SDK's lease acquire /
renew / release on a blob of its own, and prints requests per operation and latency as the
median of per-round ratios (cloudlease / raw) with its 10th-90th percentile spread. The figures
go to docs/azure_blob.md by hand; nothing here is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

from azure.storage.blob import BlobClient, BlobLeaseClient

from cloudlease_azure_blob import AzureBlobStore
from tests.azure_blob.azurite import Azurite
from tests.azure_blob.conftest import AZURITE_BIN
from tests.emulators import ManagedProcess, free_port, port_open

OPS = ("acquire", "renew", "release")


def ours_round(store: AzureBlobStore) -> list[float]:
    """Milliseconds of one cloudlease acquire, renew, release."""
    t0 = time.perf_counter()
    lease = store.acquire("job", "bench", 15)
    t1 = time.perf_counter()
    lease = store.renew(lease)
    t2 = time.perf_counter()
    store.release(lease)
    t3 = time.perf_counter()
    return [(t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000]


def raw_round(blob: BlobClient) -> list[float]:
    """Milliseconds of one raw SDK lease acquire, renew, release."""
    client = BlobLeaseClient(blob, str(uuid.uuid4()))
    t0 = time.perf_counter()
    client.acquire(15)
    t1 = time.perf_counter()
    client.renew()
    t2 = time.perf_counter()
    client.release()
    t3 = time.perf_counter()
    return [(t1 - t0) * 1000, (t2 - t1) * 1000, (t3 - t2) * 1000]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run(azurite: Azurite, rounds: int) -> None:
    container = azurite.new_container()
    store, _ = azurite.store(container)
    raw_blob = azurite.container_client(container).get_blob_client("raw/job")
    raw_blob.upload_blob(b"")
    store.release(store.acquire("job", "bench", 15))  # the lease blob exists
    ours: dict[str, list[float]] = defaultdict(list)
    raw: dict[str, list[float]] = defaultdict(list)
    for round_no in range(rounds + 5):  # the first 5 rounds warm up
        first_ours = round_no % 2 == 0
        for side in ("ours", "raw") if first_ours else ("raw", "ours"):
            if side == "ours":
                times, target = ours_round(store), ours
            else:
                times, target = raw_round(raw_blob), raw
            if round_no >= 5:
                for op, ms in zip(OPS, times, strict=True):
                    target[op].append(ms)
    print(f"{rounds} rounds, alternating, Azurite on 127.0.0.1:{azurite.port}\n")
    print(
        "| operation | cloudlease ms (median) | raw SDK ms (median) | ratio (median) "
        "| ratio p10-p90 |"
    )
    print("| --- | --- | --- | --- | --- |")
    for op in OPS:
        ratios = [a / b for a, b in zip(ours[op], raw[op], strict=True)]
        print(
            f"| {op} | {statistics.median(ours[op]):.2f} | {statistics.median(raw[op]):.2f} | "
            f"{statistics.median(ratios):.2f} | {percentile(ratios, 0.1):.2f}-"
            f"{percentile(ratios, 0.9):.2f} |"
        )
    store.close()


def requests_per_operation(azurite: Azurite) -> None:
    store, wire = azurite.store(azurite.new_container())
    rows = []
    wire.reset()
    lease = store.acquire("job", "a", 15)
    rows.append(("acquire (first use of the name)", wire.total()))
    store.release(lease)
    wire.reset()
    lease = store.acquire("job", "a", 15)
    rows.append(("acquire", wire.total()))
    wire.reset()
    lease = store.acquire("job", "a", 15)
    rows.append(("acquire (re-entry)", wire.total()))
    wire.reset()
    try:
        store.acquire("job", "b", 15)
    except Exception:  # LeaseHeld, expected
        rows.append(("acquire (refused)", wire.total()))
    wire.reset()
    lease = store.renew(lease)
    rows.append(("renew", wire.total()))
    wire.reset()
    store.release(lease)
    rows.append(("release", wire.total()))
    wire.reset()
    store.get("job")
    rows.append(("get", wire.total()))
    print("| operation | cloudlease requests | raw SDK requests |")
    print("| --- | --- | --- |")
    raw = {"acquire": 1, "renew": 1, "release": 1}
    for op, count in rows:
        print(f"| {op} | {count} | {raw.get(op, '-')} |")
    print()
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if not AZURITE_BIN.exists():
        sys.exit(f"{AZURITE_BIN} is missing: run scripts/emulators.sh")
    with tempfile.TemporaryDirectory() as workdir:
        port = free_port()
        process = ManagedProcess(
            "azurite-blob",
            [
                str(AZURITE_BIN),
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(port),
                "--inMemoryPersistence",
                "--disableTelemetry",
                "--skipApiVersionCheck",
            ],
            log_dir=Path(workdir),
            cwd=Path(workdir),
        )
        try:
            process.wait_until(lambda: port_open(port), timeout=60)
            azurite = Azurite(port)
            requests_per_operation(azurite)
            run(azurite, args.rounds)
        finally:
            process.stop()


if __name__ == "__main__":
    main()
