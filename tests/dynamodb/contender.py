"""One contending process for the contention test: ``python -m tests.dynamodb.contender ...``.

It loops until ``--until`` (time.monotonic(), shared by the processes of one host): hold the
lease through ``hold()``, write a few times to the sink item with ``fenced_put`` (whose own
condition accepts only a token at least as new as the sink's), pause at random, and log every
grant and write as JSON lines for the test to check.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from typing import Any

from cloudlease.errors import LeaseHeld, LeaseLost, StoreUnavailable
from cloudlease.keeper import hold
from cloudlease_dynamodb import DynamoDBStore, FencedWriteRefused

LEASE = "contended"


def main() -> None:
    parser = argparse.ArgumentParser()
    for option in ("--endpoint", "--table", "--sink", "--log"):
        parser.add_argument(option, required=True)
    parser.add_argument("--until", type=float, required=True)
    parser.add_argument("--ttl", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    store = DynamoDBStore(
        args.table, region="us-east-1", endpoint_url=args.endpoint, takeover_allowance=0.05
    )
    holder = f"worker-{os.getpid()}"
    with open(args.log, "a", buffering=1) as log:

        def emit(**event: Any) -> None:
            log.write(json.dumps({"holder": holder, **event}) + "\n")

        while time.monotonic() < args.until:
            try:
                with hold(store, LEASE, ttl=args.ttl, wait=0.5, holder=holder) as held:
                    granted = time.monotonic()
                    emit(event="grant", token=held.token, at=granted)
                    for _ in range(rng.randint(1, 4)):
                        time.sleep(rng.uniform(0, args.ttl * 0.3))
                        start = time.monotonic()
                        result = write(store, args.sink, held, rng.random())
                        emit(
                            event="write",
                            token=held.token,
                            start=start,
                            end=time.monotonic(),
                            result=result,
                        )
                    emit(
                        event="end",
                        token=held.token,
                        granted=granted,
                        exit=time.monotonic(),
                        deadline=held.lease.deadline,
                        lost=held.lost.is_set(),
                    )
            except (LeaseHeld, StoreUnavailable):
                pass
            time.sleep(rng.uniform(0, 0.05))
    store.close()


def write(store: DynamoDBStore, sink: str, held: Any, value: float) -> str:
    """One fenced write of the sink item; the sink refuses a token older than its own."""
    item = {"name": {"S": "sink"}, "token": {"N": str(held.token)}, "value": {"S": str(value)}}
    try:
        store.fenced_put(
            held,
            table=sink,
            item=item,
            ConditionExpression="attribute_not_exists(#token) OR #token <= :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": {"N": str(held.token)}},
        )
        return "ok"
    except LeaseLost:
        return "lease_lost"
    except FencedWriteRefused:
        return "sink_refused"
    except StoreUnavailable:
        return "unavailable"


if __name__ == "__main__":
    main()
