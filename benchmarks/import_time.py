"""Section 4: import cost of cloudlease, of each provider, and of each SDK alone.

Runs fresh interpreters with ``python -X importtime -c STATEMENT`` and adds up the cumulative
time of every top-level import the statement triggered (the interpreter's own start-up, up to
``site``, is left out), median over --runs. A provider is compared with its SDK alone: the
provider's cost is what it adds on top of the SDK it must import anyway. Also times whole
interpreter runs against a bare ``python -c pass``. Figures go to docs, never into tests.
The sources are compiled first (``compileall``): with ``PYTHONDONTWRITEBYTECODE`` set, every
run would otherwise compile them again and time the compiler.

    .venv/bin/python -m benchmarks.import_time [--runs 15]
"""

from __future__ import annotations

import argparse
import compileall
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks._common import summary

ROOT = Path(__file__).resolve().parent.parent
#: Standard-library modules the core uses that nearly every application (and every cloud SDK)
#: has loaded already; the "own modules" rows preload them and count cloudlease alone.
STDLIB = "import typing, logging, dataclasses, json, threading, random, re, datetime, inspect"
CORE: list[tuple[str, str, str | None]] = [
    ("import cloudlease", "import cloudlease", None),
    ("from cloudlease import hold, open_store", "from cloudlease import hold, open_store", None),
    ("import cloudlease.stores.sqlite", "import cloudlease.stores.sqlite", None),
    ("from cloudlease import single_runner", "from cloudlease import single_runner", None),
    (
        "from cloudlease import hold, open_store (own modules: stdlib preloaded)",
        f"{STDLIB}; from cloudlease import hold, open_store",
        "cloudlease",
    ),
    (
        "from cloudlease import single_runner (own modules: stdlib preloaded)",
        f"{STDLIB}; from cloudlease import single_runner",
        "cloudlease",
    ),
]
#: (store, provider statement, SDK-alone statement)
PROVIDERS: list[tuple[str, str, str]] = [
    ("dynamodb", "import cloudlease_dynamodb", "import boto3"),
    ("firestore", "import cloudlease_firestore", "from google.cloud import firestore"),
    ("azure", "import cloudlease_azure_blob", "from azure.storage.blob import BlobServiceClient"),
    ("s3", "import cloudlease_s3", "import boto3"),
    ("gcs", "import cloudlease_gcs", "from google.cloud import storage"),
]


def import_ms(statement: str, module: str | None = None) -> float | None:
    """Milliseconds of the imports ``statement`` triggers in a fresh interpreter.

    With ``module``: only the cumulative time of that top-level import and its submodules
    imported at top level (what they add on top of whatever the statement imported before).
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement], capture_output=True, text=True
    )
    if done.returncode != 0:
        return None
    total, started = 0, False
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if len(parts) != 3 or not parts[1].strip().isdigit():
            continue
        name = parts[2]
        top_level = name.startswith(" ") and not name.startswith("  ")
        wanted = module is None or name.strip() == module or name.strip().startswith(module + ".")
        if started and top_level and wanted:
            total += int(parts[1])
        if top_level and name.strip() == "site":
            started = True
    return total / 1000


def cpu_ms(statement: str, before: str = "pass") -> float | None:
    """CPU milliseconds of ``statement`` in a fresh interpreter (``time.process_time`` around
    it, after ``before``): less sensitive than ``-X importtime``'s wall time to other processes
    on the machine."""
    probe = (
        f"{before}\nimport time; t = time.process_time()\n{statement}\n"
        "print(time.process_time() - t)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    if done.returncode != 0:
        return None
    return float(done.stdout.split()[-1]) * 1000


def wall_ms(statement: str, runs: int) -> dict[str, float]:
    """Wall time of a fresh interpreter that runs ``statement`` (start-up included)."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        samples.append((time.perf_counter() - start) * 1000)
    return summary(samples)


def sampled(statement: str, runs: int, module: str | None = None) -> dict[str, float]:
    values = [ms for ms in (import_ms(statement, module) for _ in range(runs)) if ms is not None]
    return summary(values)


def compile_sources() -> None:
    """Write the bytecode of the core and the providers, as an installed wheel has it."""
    for folder in [ROOT / "cloudlease", *sorted((ROOT / "providers").glob("*/cloudlease_*"))]:
        compileall.compile_dir(folder, quiet=1)


def run(runs: int) -> dict[str, Any]:
    compile_sources()
    core = {label: sampled(statement, runs, module) for label, statement, module in CORE}
    cpu = {
        label: summary([ms for ms in (cpu_ms(statement) for _ in range(runs)) if ms is not None])
        for label, statement, module in CORE
        if module is None
    }
    providers = {}
    for store, provider, sdk in PROVIDERS:
        package = provider.split()[-1]
        mine, alone, added, added_cpu = [], [], [], []
        for _ in range(runs):  # alternate, so load changes hit both sides alike
            a, b = import_ms(provider), import_ms(sdk)
            # The SDK first, then the provider: what the provider (core included) adds to it.
            c = import_ms(f"{sdk}; {provider}", package)
            d = cpu_ms(provider, before=sdk)
            if d is not None:
                added_cpu.append(d)
            if a is not None and b is not None and c is not None:
                mine.append(a)
                alone.append(b)
                added.append(c)
        providers[store] = {
            "provider": provider,
            "sdk": sdk,
            "provider_ms": summary(mine),
            "sdk_ms": summary(alone),
            "added_ms": summary(added),
            "added_cpu_ms": summary(added_cpu),
        }
    bare = wall_ms("pass", runs)
    whole = {
        statement: wall_ms(statement, runs)
        for statement in ("import cloudlease", "from cloudlease import hold, open_store")
    }
    return {
        "runs": runs,
        "core": core,
        "core_cpu": cpu,
        "providers": providers,
        "bare": bare,
        "whole": whole,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    from benchmarks.report import import_tables

    print(import_tables(run(args.runs)))


if __name__ == "__main__":
    main()
