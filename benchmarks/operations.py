"""Sections 1 and 2: requests per operation, and latency against the raw SDK (A/B).

For each store: count the requests of acquire (first use, free, held elsewhere, re-entry),
renew, release and get at the transport, next to the physical minimum; then time each
operation back to back with its hand-written SDK equivalent (``benchmarks/raw.py``), in a
seeded random order each round, and report the median of the per-round ratios with its
quartiles and p10-p90.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

from benchmarks import raw as rawlib
from benchmarks._common import OPS, log, ratios, summary, timed
from benchmarks._stores import Counts, Spec, open_store, unwrap

LONG = 3600.0  # ttl of the leases held elsewhere (Azure caps it at 60 s, refreshed below)

#: The fewest requests each operation can take on each store, and why.
MINIMUM: dict[str, dict[str, Any]] = {
    "memory": {
        "acquire": 1,
        "refused": 1,
        "renew": 1,
        "release": 1,
        "get": 1,
        "why": "one critical section under the store's lock",
    },
    "sqlite": {
        "acquire": 1,
        "refused": 1,
        "renew": 1,
        "release": 1,
        "get": 1,
        "why": "acquire: one BEGIN IMMEDIATE transaction (read, decide, write); renew and "
        "release: one conditional UPDATE; get: one SELECT",
    },
    "dynamodb": {
        "acquire": 1,
        "refused": 1,
        "renew": 1,
        "release": 1,
        "get": 1,
        "why": "one conditional UpdateItem (ALL_OLD on failure) or one consistent GetItem",
    },
    "firestore": {
        "acquire": 2,
        "refused": 1,
        "renew": 1,
        "release": 1,
        "get": 1,
        "why": "acquire needs a read and a write conditioned on it (a commit with an "
        "update_time / exists precondition); a refusal is decided on the read alone",
    },
    "azure": {
        "acquire": 3,
        "refused": 1,
        "renew": 1,
        "release": 2,
        "get": 1,
        "why": "acquire = read metadata + blob lease + write the token under the lease; "
        "release = clear the holder + release the blob lease",
    },
    "s3": {
        "acquire": 1,
        "refused": 1,
        "renew": 1,
        "release": 1,
        "get": 1,
        "why": "one PUT with If-Match on the ETag known from the store's last read or write "
        "(a lease never seen: a GET first, 2); a refusal is decided on one GET",
    },
    "gcs": {
        "acquire": 1,
        "refused": 1,
        "renew": 1,
        "release": 1,
        "get": 1,
        "why": "one upload with ifGenerationMatch on the generation known from the store's last "
        "read or write (a lease never seen: a download first, 2); a refusal is decided on one "
        "download",
    },
}


def requests_per_op(store: Any, counts: Counts, ttl: float) -> dict[str, dict[str, int]]:
    """Requests each operation sends, by request type (counted at the transport)."""
    rows: dict[str, dict[str, int]] = {}

    def count(label: str, action: Callable[[], Any]) -> Any:
        counts.reset()
        try:
            return action()
        finally:
            rows[label] = counts.by_op()

    lease = count("acquire (first use)", lambda: store.acquire("count", "me", ttl))
    store.release(lease)
    lease = count("acquire", lambda: store.acquire("count", "me", ttl))
    count("refused", lambda: rawlib.refused_ours(store, "count", ttl))
    lease = count("acquire (re-entry)", lambda: store.acquire("count", "me", ttl))
    lease = count("renew", lambda: store.renew(lease))
    count("get", lambda: store.get("count"))
    count("release", lambda: store.release(lease))
    return rows


def raw_requests(
    raw: Any, counts: Counts, steps: dict[str, tuple[Callable[[], None], ...]]
) -> dict[str, int]:
    """Requests of one pass of the raw baseline's operations (steady state)."""
    found: dict[str, int] = {}
    for op in OPS:
        prepare, call = steps[op]
        prepare()
        counts.reset()
        call()
        found[op] = counts.total()
    return found


def raw_steps(
    kind: str, raw: Any, name: str, blocker: str
) -> dict[str, tuple[Callable[[], None], ...]]:
    """(untimed prepare, timed call) of each raw operation."""

    def nothing() -> None:
        pass

    if kind == "dynamodb":

        def step(op: str, target: str) -> tuple[Callable[[], None], ...]:
            return (lambda: raw.prepare(op, target), lambda: raw.send(op))

        return {op: step(op, blocker if op == "refused" else name) for op in OPS}

    def refused() -> None:
        try:
            raw.acquire(blocker)
        except rawlib.Refused:
            return
        raise AssertionError("the raw blocker was free")

    return {
        "acquire": (nothing, lambda: raw.acquire(name)),
        "renew": (nothing, lambda: raw.renew(name)),
        "get": (nothing, lambda: raw.get(name)),
        "refused": (nothing, refused),
        "release": (nothing, lambda: raw.release(name)),
    }


def make_raw(kind: str, spec: Spec, store: Any, counts: Counts, ttl: float) -> Any:
    from benchmarks import _stores

    if kind == "memory":
        return rawlib.RawMemory(ttl)
    if kind == "sqlite":
        return rawlib.RawSQLite(spec["path"], ttl)
    if kind == "dynamodb":
        return rawlib.RawDynamoDB(_stores.dynamodb_client(spec["endpoint"], counts), store, ttl)
    if kind == "firestore":
        client = _stores.firestore_client(spec["host"], spec["project"], counts)
        return rawlib.RawFirestore(client, spec["collection"] + "_raw", ttl)
    if kind == "azure":
        return rawlib.RawAzure(
            _stores.azure_container(spec["port"], spec["container"], counts), ttl
        )
    if kind == "s3":
        return rawlib.RawS3(_stores.s3_client(spec["endpoint"], counts), spec["bucket"], ttl)
    if kind == "gcs":
        return rawlib.RawGCS(_stores.gcs_client(counts), spec["bucket"], ttl)
    raise ValueError(kind)


def hold_blockers(kind: str, store: Any, raw: Any) -> None:
    """(Re)take the leases the refused acquires run into, for ours and for the raw side."""
    ttl = 60.0 if kind == "azure" else LONG
    store.acquire("blocker", "someone-else", ttl)
    if kind == "dynamodb":
        store.acquire("raw-blocker", "someone-else", ttl)
    elif kind == "azure":
        if getattr(raw, "blocker", None) is not None:
            raw.blocker.renew()
        else:
            raw.seconds = 60
            raw.acquire("blocker", holder="someone-else")
            raw.blocker, raw.lease, raw.seconds = raw.lease, None, 15
    elif kind in ("s3", "gcs"):
        raw.acquire("blocker", holder="someone-else")  # re-entry: its ttl starts again
    elif getattr(raw, "blocked", False) is False:
        raw.acquire("raw-blocker" if kind == "sqlite" else "blocker", holder="someone-else")
        raw.blocked = True


def measure(kind: str, spec: Spec, rounds: int, seed: int, ttl: float) -> dict[str, Any]:
    """Requests per operation and the A/B latency table of one store."""
    counts = Counts()
    counted = open_store(spec, counts)
    counted.init()
    rows = requests_per_op(counted, counts, ttl)
    store = unwrap(counted)
    raw_counts = Counts()
    raw = make_raw(kind, spec, store, raw_counts, ttl)
    hold_blockers(kind, store, raw)
    raw_name, blocker = (
        ("raw-ab", "raw-blocker") if kind in ("dynamodb", "sqlite") else ("ab", "blocker")
    )
    steps = raw_steps(kind, raw, raw_name, blocker)
    lease: Any = None

    def acquire() -> None:
        nonlocal lease
        lease = store.acquire("ab", "me", ttl)

    def renew() -> None:
        nonlocal lease
        lease = store.renew(lease)

    ours: dict[str, Callable[[], Any]] = {
        "acquire": acquire,
        "renew": renew,
        "get": lambda: store.get("ab"),
        "refused": lambda: rawlib.refused_ours(store, "blocker", ttl),
        "release": lambda: store.release(lease),
    }
    samples: dict[str, tuple[list[float], list[float]]] = {op: ([], []) for op in OPS}
    rng = random.Random(seed)
    warmup = max(5, rounds // 10)
    raw_per_op: dict[str, int] = {}
    for round_no in range(warmup + rounds):
        if round_no % 10 == 0:
            hold_blockers(kind, store, raw)
        if round_no == warmup - 1:
            raw_per_op = raw_requests(raw, raw_counts, steps)
            continue
        for op in OPS:
            prepare, call = steps[op]
            prepare()
            if rng.random() < 0.5:
                mine, theirs = timed(ours[op]), timed(call)
            else:
                theirs = timed(call)
                mine = timed(ours[op])
            if round_no >= warmup:
                samples[op][0].append(mine)
                samples[op][1].append(theirs)
    table = {}
    for op, (ours_s, raw_s) in samples.items():
        table[op] = {
            "ours_ms": summary([x * 1000 for x in ours_s]),
            "raw_ms": summary([x * 1000 for x in raw_s]),
            "ratio": ratios(ours_s, raw_s),
        }
    log(
        f"{kind}: "
        + ", ".join(f"{op} {statistics.median(s[0]) * 1000:.2f}ms" for op, s in samples.items())
    )
    if kind in ("memory", "sqlite"):
        raw_per_op = dict.fromkeys(OPS, 1)  # one critical section / transaction by construction
    raw.close()
    counted.close()
    return {
        "requests": rows,
        "raw_requests": raw_per_op,
        "minimum": MINIMUM[kind],
        "rounds": rounds,
        "seed": seed,
        "latency": table,
    }


def main(default_kind: str | None = None) -> None:
    """``python -m benchmarks.operations --store KIND``: sections 1 and 2 for one store."""
    import argparse
    import tempfile

    from benchmarks._servers import servers
    from benchmarks._stores import ALL_KINDS, make_spec, ttl_for
    from benchmarks.report import overhead_table, requests_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--store", choices=ALL_KINDS, default=default_kind, required=not default_kind
    )
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with servers({args.store}) as running, tempfile.TemporaryDirectory() as tmp:
        spec = make_spec(args.store, running, tmp, "ops")
        if spec is None:
            raise SystemExit(f"{args.store}: {running.missing}")
        ttl = ttl_for(args.store, 30.0)
        results = {args.store: measure(args.store, spec, args.rounds, args.seed, ttl)}
    print(requests_table(results), overhead_table(results), sep="\n\n")


if __name__ == "__main__":
    main()
