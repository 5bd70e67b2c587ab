"""Run every benchmark in one go, write the results as JSON and render docs/performance.md.

    .venv/bin/python -m benchmarks [--quick] [--only SECTION ...] [--stores KIND ...] [--no-doc]

Sections: operations (requests per operation + A/B overhead against the raw SDK; the object
stores S3 and Cloud Storage are measured here only), failover, imports, contention, peers,
serverless. ``--stores`` limits every section to some stores. Emulators (moto, Firestore,
Azurite, fake-gcs-server) are started on free loopback ports and killed at the end.
``--quick`` shrinks every section (a smoke run of a few minutes); the full run takes about 10
minutes on 2 cores. Results go to ``benchmarks/results/<mode>-<time>.json`` and, for a run of
every section and store, ``benchmarks/results/latest-<mode>.json`` (the doc's); a full run (or
``--doc``) rewrites docs/performance.md. Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import load_average, log, machine, versions
from benchmarks._servers import Servers, servers
from benchmarks._stores import ALL_KINDS, KINDS, Spec, make_spec, ttl_for

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
SECTIONS = ("operations", "failover", "takeover", "imports", "contention", "peers", "serverless")

#: Sizes of each section: full run, quick run.
SIZES: dict[str, dict[str, Any]] = {
    "full": {
        "rounds": 200,
        "failover_kills": 8,
        "failover_graceful": 4,
        "azure_kills": 3,
        "azure_graceful": 2,
        "import_runs": 15,
        "contenders": (16, 64),
        "contention_s": 10.0,
        "peer_rounds": 150,
        "serverless_calls": 300,
    },
    "quick": {
        "rounds": 30,
        "failover_kills": 2,
        "failover_graceful": 1,
        "azure_kills": 1,
        "azure_graceful": 1,
        "import_runs": 3,
        "contenders": (16, 64),
        "contention_s": 3.0,
        "peer_rounds": 20,
        "serverless_calls": 50,
    },
}
SHORT_TTL = 2.0  # the failover / contention ttl where the store allows it (Azure: 15 s)


def _terminate(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)  # unwinds, so the emulators are stopped


def section(results: dict[str, Any], name: str, body: Any) -> None:
    """Run one section; record its error instead of losing the rest of the run."""
    started = time.monotonic()
    log(f"section {name} (load {load_average()})")
    try:
        results[name] = body()
    except Exception as exc:  # a broken section is reported in the doc, the run goes on
        log(f"section {name} failed: {exc!r}")
        results[name] = {"error": repr(exc)}
    results.setdefault("timings", {})[name] = round(time.monotonic() - started, 1)


class Run:
    """One benchmark run: the emulators, fresh places on them, and the sections."""

    def __init__(
        self,
        running: Servers,
        tmp: str,
        size: dict[str, Any],
        seed: int,
        stores: set[str] | None = None,
    ) -> None:
        self.running = running
        self.stores = set(ALL_KINDS) if stores is None else stores
        self.tmp = tmp
        self.size = size
        self.seed = seed
        self.serial = iter(range(10**6))

    def spec(self, kind: str) -> Spec | None:
        if kind not in self.stores:
            return None
        return make_spec(kind, self.running, self.tmp, f"{next(self.serial)}")

    def available(self, kinds: tuple[str, ...] = KINDS) -> dict[str, Spec]:
        found = {kind: self.spec(kind) for kind in kinds}
        return {kind: s for kind, s in found.items() if s is not None}

    def operations(self) -> dict[str, Any]:
        from benchmarks import operations

        return {
            kind: operations.measure(kind, s, self.size["rounds"], self.seed, ttl_for(kind, 30.0))
            for kind, s in self.available(ALL_KINDS).items()
        }

    def failover(self) -> dict[str, Any]:
        from benchmarks import failover

        out = {}
        for kind, s in self.available(("sqlite", "dynamodb", "firestore", "azure")).items():
            azure = kind == "azure"
            out[kind] = failover.run(
                "cloudlease",
                s,
                15.0 if azure else SHORT_TTL,
                self.size["azure_kills" if azure else "failover_kills"],
                self.size["azure_graceful" if azure else "failover_graceful"],
                self.seed,
            )
        return out

    def takeover(self) -> dict[str, Any]:
        from benchmarks import failover

        out = {}
        for kind, s in self.available(("sqlite", "dynamodb", "firestore", "azure")).items():
            azure = kind == "azure"
            kills = self.size["azure_kills" if azure else "failover_kills"]
            out[kind] = failover.takeover(s, 15.0 if azure else SHORT_TTL, kills, self.seed)
        return out

    def peers(self) -> dict[str, Any]:
        from benchmarks import failover, peers

        out: dict[str, Any] = {}
        size, seed = self.size, self.seed
        s = self.spec("dynamodb")
        if s is not None:
            out["python-dynamodb-lock"] = peers.dynamodb_lock(s, size["peer_rounds"], seed, 30.0)
            out["python-dynamodb-lock"]["failover"] = failover.run(
                "pdl", s, SHORT_TTL, size["failover_kills"], size["failover_graceful"], seed
            )
            out["python-dynamodb-lock"]["contention"] = {
                str(n): peers.pdl_contention(s, n, size["contention_s"], SHORT_TTL, seed)
                for n in size["contenders"]
            }
        s = self.spec("azure")
        if s is not None:
            out["azure-plain"] = peers.azure_plain(s, size["peer_rounds"], seed)
            out["azure-plain"]["failover"] = failover.run(
                "azure-plain", s, 15.0, size["azure_kills"], size["azure_graceful"], seed
            )
            out["azure-plain"]["contention"] = {
                str(n): peers.azure_plain_contention(s, n, size["contention_s"], seed)
                for n in size["contenders"]
            }
        return out

    def contention(self) -> dict[str, Any]:
        from benchmarks import contention

        out: dict[str, Any] = {}
        for kind in KINDS:
            for n in self.size["contenders"]:
                s = self.spec(kind)
                if s is not None:
                    ttl = 15.0 if kind == "azure" else SHORT_TTL
                    seconds = self.size["contention_s"]
                    out[f"{kind}/{n}"] = contention.run(s, n, seconds, ttl, self.seed)
        return out

    def serverless(self) -> dict[str, Any]:
        from benchmarks import serverless

        specs = self.available(("memory", "sqlite", "dynamodb"))
        return serverless.run(specs, self.size["serverless_calls"])


def run(mode: str, only: set[str], seed: int, stores: set[str] | None = None) -> dict[str, Any]:
    size = SIZES[mode]
    results: dict[str, Any] = {
        "mode": mode,
        "command": " ".join(["python -m benchmarks", *sys.argv[1:]]),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %z"),
        "machine": machine(),
        "versions": versions(),
        "load_before": load_average(),
        "sizes": {k: list(v) if isinstance(v, tuple) else v for k, v in size.items()},
        "seed": seed,
    }
    needs: set[str] = set()
    if only & {"operations", "failover", "takeover", "contention", "peers"}:
        needs = {"dynamodb", "firestore", "azure"}
    elif "serverless" in only:
        needs = {"dynamodb"}
    if "operations" in only:
        needs |= {"s3", "gcs"}
    if stores is not None:
        needs &= stores
    with servers(needs) as running, tempfile.TemporaryDirectory() as tmp:
        results["emulators_missing"] = running.missing
        this = Run(running, tmp, size, seed, stores)
        for name in ("operations", "failover", "takeover", "peers", "contention", "serverless"):
            if name in only:
                section(results, name, getattr(this, name))
    if "imports" in only:  # last, with the emulators stopped: a quieter machine
        from benchmarks import import_time

        section(results, "imports", lambda: import_time.run(size["import_runs"]))
    results["load_after"] = load_average()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--stores", nargs="+", choices=ALL_KINDS, help="only these stores")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--note", help="a remark for the doc's header (e.g. what else ran)")
    doc = parser.add_mutually_exclusive_group()
    doc.add_argument("--doc", action="store_true", help="rewrite docs/performance.md (quick too)")
    doc.add_argument("--no-doc", action="store_true", help="do not rewrite docs/performance.md")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _terminate)
    mode = "quick" if args.quick else "full"
    stores = set(args.stores) if args.stores else None
    results = run(mode, set(args.only or SECTIONS), args.seed, stores)
    if args.note:
        results["note"] = args.note
    RESULTS.mkdir(exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    text = json.dumps(results, indent=1, default=str)
    (RESULTS / f"{mode}-{stamp}.json").write_text(text)
    if not args.only and not args.stores:  # a partial run leaves the doc's results alone
        (RESULTS / f"latest-{mode}.json").write_text(text)
    log(f"results: benchmarks/results/{mode}-{stamp}.json")
    if args.doc or (mode == "full" and not args.no_doc and not args.only and not args.stores):
        from benchmarks.report import render

        (ROOT / "docs" / "performance.md").write_text(render(results))
        log("docs/performance.md rewritten")


if __name__ == "__main__":
    main()
