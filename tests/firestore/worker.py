"""One contender of the multi-process test: hold the lease a few times, write to a fenced sink.

Run as ``python -m tests.firestore.worker`` with FIRESTORE_EMULATOR_HOST set. Each hold logs
one JSON line: holder, token, and the validity interval [start, end] on time.monotonic()
(shared by processes on one host): from the grant to the last moment it acted.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from google.cloud import firestore

from cloudlease.keeper import hold
from cloudlease_firestore import FirestoreStore


def fenced_sink_write(store: FirestoreStore, sink: str, held: Any) -> None:
    """Append (token, holder) to the sink log, fenced by the lease, in one transaction."""
    client = store.client
    head = client.collection(sink).document("head")

    @firestore.transactional
    def write(transaction: firestore.Transaction) -> None:
        store.fence(transaction, held)
        snapshot = next(iter(transaction.get(head)))
        count = snapshot.get("count") if snapshot.exists else 0
        transaction.set(
            client.collection(sink).document(f"w{count + 1:06d}"),
            {"seq": count + 1, "token": held.token, "holder": held.holder},
        )
        transaction.set(head, {"count": count + 1, "last_token": held.token})

    write(client.transaction(max_attempts=20))


def main() -> None:
    parser = argparse.ArgumentParser()
    for option in ("project", "collection", "sink", "lease", "holder", "log"):
        parser.add_argument(f"--{option}", required=True)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--writes", type=int, default=3)
    # Long enough for a grant that waited out one ~2 s lock timeout on the emulator.
    parser.add_argument("--ttl", type=float, default=8.0)
    args = parser.parse_args()
    store = FirestoreStore(args.project, args.collection)
    with open(args.log, "a", encoding="utf-8") as log:
        for _ in range(args.rounds):
            with hold(store, args.lease, ttl=args.ttl, wait=60, holder=args.holder) as held:
                start = time.monotonic()
                for _ in range(args.writes):
                    held.ensure()
                    fenced_sink_write(store, args.sink, held)
                    time.sleep(0.05)
                held.ensure()
                end = time.monotonic()
                log.write(
                    json.dumps(
                        {"holder": args.holder, "token": held.token, "start": start, "end": end}
                    )
                    + "\n"
                )
                log.flush()
            time.sleep(0.1)
    store.close()


if __name__ == "__main__":
    main()
