"""The async DynamoDB store on moto: many leases on one event loop, and its cost per operation.

    .venv/bin/python -m benchmarks.async_dynamodb [--leases N] [--ttl S] [--rounds R]

``many``: N leases held by ``async with hold()`` on one ``AsyncDynamoDBStore`` (one
aiobotocore client, one loop, no thread per lease) for 3 ttl; counts the UpdateItem requests
per lease per renewal, the renewals whose grant came back after the previous grant's local
deadline (late: that lease would have stepped down), the leases lost, the threads and the
process CPU time. ``overhead``: acquire + release through the store vs the same two
UpdateItem requests built beforehand and sent with the raw aiobotocore client, alternating,
R rounds; the ratio of the medians. Prints JSON; nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import threading
import time
from collections import Counter
from typing import Any

from benchmarks._common import load_average, log
from benchmarks._servers import servers

REGION = "us-east-1"


class _Failures(logging.Handler):
    """Counts the failed renewals the tenures log (each is retried after renew_retry)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "renewal of" in record.getMessage():
            self.count += 1


def _table(endpoint: str, name: str) -> str:
    from cloudlease_dynamodb import DynamoDBStore

    store = DynamoDBStore(name, region=REGION, endpoint_url=endpoint)
    store.init()
    store.close()
    return name


async def many(endpoint: str, leases: int, ttl: float) -> dict[str, Any]:
    """``leases`` leases held for 3 ttl on one loop (the renewals counted cover the whole run,
    acquisition included)."""
    from aiobotocore.config import AioConfig

    from cloudlease import hold
    from cloudlease_dynamodb.aio import AsyncDynamoDBStore

    table = _table(endpoint, f"bench-many-{leases}")
    failed = _Failures()
    logging.getLogger("cloudlease").addHandler(failed)
    config = AioConfig(max_pool_connections=64)
    calls: Counter[str] = Counter()
    late = 0
    async with AsyncDynamoDBStore(
        table, region=REGION, endpoint_url=endpoint, config=config
    ) as store:
        client = await store.client()
        client.meta.events.register(
            "before-call.dynamodb", lambda model, **_: calls.update([model.name])
        )
        entered = asyncio.Semaphore(0)
        done = asyncio.Event()
        renewals: list[int] = []
        lags: list[float] = []
        lost: list[str] = []

        async def one(i: int) -> None:
            nonlocal late
            async with hold(
                store, f"p-{i}", ttl=ttl, on_lost=lambda h: lost.append(h.name)
            ) as held:
                entered.release()
                seen, count = held.lease, 0
                while not done.is_set():
                    await asyncio.sleep(0.25)
                    current = held.lease
                    if current is not seen:  # a renewal came back: sent how late?
                        count += 1
                        if count > 1:  # after a renewal (the first follows the acquire's reply)
                            lags.append(current.started - (seen.started + held.policy.renew_every))
                        if current.started > seen.deadline:
                            late += 1
                        seen = current
                renewals.append(count)

        cpu0, wall0 = time.process_time(), time.monotonic()
        tasks = [asyncio.create_task(one(i)) for i in range(leases)]
        for _ in tasks:
            await entered.acquire()
        acquired_s = time.monotonic() - wall0
        threads = threading.active_count()
        before = Counter(calls)
        await asyncio.sleep(3 * ttl)
        held_calls = calls - before
        done.set()
        await asyncio.gather(*tasks)
        cpu = time.process_time() - cpu0
    total_renewals = sum(renewals)
    # Every UpdateItem but each lease's acquire and release was a renewal attempt.
    renewal_requests = calls["UpdateItem"] - 2 * leases
    return {
        "leases": leases,
        "ttl_s": ttl,
        "held_for_s": 3 * ttl,
        "acquire_all_s": round(acquired_s, 2),
        "threads_while_holding": threads,
        "renewals": total_renewals,
        "requests": dict(calls),
        "renewal_requests": renewal_requests,
        "requests_per_renewal": round(renewal_requests / total_renewals, 3)
        if total_renewals
        else None,
        "failed_renewals_logged": failed.count,
        "other_requests_while_holding": sum(v for k, v in held_calls.items() if k != "UpdateItem"),
        "late_renewals": late,
        # Renewal to renewal: how much later than renew_every after the previous one's start
        # the next was sent (its round trip included).
        "renewal_sent_after_due_s": {
            "median": round(statistics.median(lags), 3) if lags else None,
            "max": round(max(lags), 3) if lags else None,
        },
        "lost": len(lost),
        "cpu_s": round(cpu, 2),
    }


async def overhead(endpoint: str, rounds: int) -> dict[str, Any]:
    """acquire + release through the store vs the same requests sent raw."""
    from cloudlease.records import AcquireRequest
    from cloudlease_dynamodb.aio import AsyncDynamoDBStore

    table = _table(endpoint, "bench-overhead")
    async with AsyncDynamoDBStore(table, region=REGION, endpoint_url=endpoint) as store:
        client = await store.client()
        store_s: list[float] = []
        raw_s: list[float] = []
        for i in range(rounds):
            now = time.time_ns() // 1_000_000
            request = AcquireRequest(f"raw-{i}", "raw", 10_000, now, 1000, {})
            takeover = store.requests.takeover(request)
            started = time.perf_counter()
            reply = await client.update_item(**takeover)
            token = int(reply["Attributes"][store.attributes.token]["N"])
            release = store.requests.release(f"raw-{i}", "raw", token, now)
            await client.update_item(**release)
            raw_s.append(time.perf_counter() - started)
            started = time.perf_counter()
            lease = await store.acquire(f"store-{i}", "bench", 10)
            await store.release(lease)
            store_s.append(time.perf_counter() - started)
    store_median, raw_median = statistics.median(store_s), statistics.median(raw_s)
    return {
        "rounds": rounds,
        "store_median_ms": round(store_median * 1000, 3),
        "raw_median_ms": round(raw_median * 1000, 3),
        "ratio_of_medians": round(store_median / raw_median, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leases", type=int, default=1000)
    parser.add_argument("--ttl", type=float, default=30.0)
    parser.add_argument("--rounds", type=int, default=300)
    args = parser.parse_args()
    with servers({"dynamodb"}) as running:
        if running.moto is None:
            raise SystemExit("moto did not start")
        log(f"overhead, {args.rounds} rounds (load {load_average()})")
        results = {"overhead": asyncio.run(overhead(running.moto, args.rounds))}
        log(f"many: {args.leases} leases for 3 x {args.ttl:g} s (load {load_average()})")
        results["many"] = asyncio.run(many(running.moto, args.leases, args.ttl))
        results["load_after"] = {"load": load_average()}
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
