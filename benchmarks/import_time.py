"""Import cost of cloudlease (and of each installed provider next to its SDK).

Runs fresh interpreters and reads ``python -X importtime``: the cumulative microseconds of the
named top-level import, median over --runs. Prints a Markdown table; figures go to docs, never
into test assertions.

    .venv/bin/python benchmarks/import_time.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

CASES: list[tuple[str, str, str]] = [
    # (label, statement, module whose cumulative time is read)
    ("cloudlease (import cloudlease)", "import cloudlease", "cloudlease"),
    ("cloudlease + hold + open_store", "from cloudlease import hold, open_store", "cloudlease"),
    ("cloudlease.stores.sqlite", "import cloudlease.stores.sqlite", "cloudlease"),
    ("cloudlease_dynamodb", "import cloudlease_dynamodb", "cloudlease_dynamodb"),
    ("boto3 (SDK alone)", "import boto3", "boto3"),
    ("cloudlease_firestore", "import cloudlease_firestore", "cloudlease_firestore"),
    (
        "google.cloud.firestore (SDK alone)",
        "import google.cloud.firestore",
        "google.cloud.firestore",
    ),
    ("cloudlease_azure_blob", "import cloudlease_azure_blob", "cloudlease_azure_blob"),
    ("azure.storage.blob (SDK alone)", "import azure.storage.blob", "azure.storage.blob"),
]


def cumulative_us(statement: str, module: str) -> int | None:
    """Cumulative import time of ``module`` when running ``statement`` in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        return None
    total = 0
    for line in done.stderr.splitlines():
        # "import time:   self [us] | cumulative | imported package"
        parts = line.split("|")
        if len(parts) == 3 and parts[2].strip() == module:
            total = max(total, int(parts[1].strip()))
    # `from cloudlease import hold` loads submodules lazily after the package: add them up.
    if statement.startswith("from cloudlease import"):
        for line in done.stderr.splitlines():
            parts = line.split("|")
            if len(parts) == 3 and parts[2].startswith(" cloudlease."):
                total += int(parts[1].strip())  # " cloudlease.x": a top-level entry
    return total


def wall_ms(statement: str, runs: int) -> float:
    """Median wall time of a fresh interpreter that runs ``statement`` (site included)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}, median of {args.runs} fresh interpreters\n")
    print("| import | median ms | min ms | max ms |")
    print("| --- | ---: | ---: | ---: |")
    for label, statement, module in CASES:
        samples = [cumulative_us(statement, module) for _ in range(args.runs)]
        values = [s / 1000 for s in samples if s is not None]
        if not values:
            print(f"| {label} | not installed | | |")
            continue
        print(
            f"| {label} | {statistics.median(values):.1f} | {min(values):.1f} | {max(values):.1f} |"
        )
    bare = wall_ms("pass", args.runs)
    print("\n| whole interpreter run | median ms | over bare |")
    print("| --- | ---: | ---: |")
    print(f"| python -c pass | {bare:.1f} | |")
    for statement in ("import cloudlease", "from cloudlease import hold, open_store"):
        took = wall_ms(statement, args.runs)
        print(f"| python -c '{statement}' | {took:.1f} | +{took - bare:.1f} |")


if __name__ == "__main__":
    main()
