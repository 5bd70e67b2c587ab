"""DynamoDB store: requests per operation, and latency against a raw conditional UpdateItem.

Runs a moto server on loopback, then for each round times the store's acquire / renew /
release and a hand-written boto3 conditional UpdateItem doing the same job, alternating which
goes first. Prints medians, the median per-round ratio (store / raw) with its quartiles, and
the requests each operation sent. Figures go to docs/dynamodb.md; nothing is asserted.

    .venv/bin/python -m benchmarks.dynamodb [--rounds 400]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import boto3

from cloudlease.errors import LeaseHeld
from cloudlease_dynamodb import DynamoDBStore
from cloudlease_dynamodb.client import DEFAULT_CONFIG, NO_RETRIES

ENV = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": "/nonexistent",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_moto(port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    for _ in range(300):
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return server
        time.sleep(0.1)
    os.killpg(server.pid, signal.SIGKILL)
    raise RuntimeError("moto server did not start")


class Raw:
    """The same three jobs as hand-written conditional UpdateItems (no library around them)."""

    def __init__(self, client: Any, table: str, name: str = "raw", holder: str = "raw") -> None:
        self.client = client
        self.table = table
        self.key = {"name": {"S": name}}
        self.holder = {"S": holder}
        self.names = {"#k": "name", "#h": "holder", "#t": "token", "#e": "expires_at"}
        self.token = "0"

    def _update(self, update: str, condition: str, values: dict[str, Any]) -> dict[str, Any]:
        names = {k: v for k, v in self.names.items() if k in update or k in condition}
        response: dict[str, Any] = self.client.update_item(
            TableName=self.table,
            Key=self.key,
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=values,
            ReturnValues="ALL_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
        return response

    def acquire(self) -> None:
        now = time.time_ns() // 1_000_000
        response = self._update(
            "SET #h = :me, #t = if_not_exists(#t, :now) + :one, #e = :exp",
            "attribute_not_exists(#k) OR #h = :free OR #e < :now",
            {
                ":me": self.holder,
                ":free": {"S": ""},
                ":now": {"N": str(now)},
                ":one": {"N": "1"},
                ":exp": {"N": str(now + 30_000)},
            },
        )
        self.token = response["Attributes"]["token"]["N"]

    def renew(self) -> None:
        now = time.time_ns() // 1_000_000
        self._update(
            "SET #e = :exp",
            "#h = :me AND #t = :tok",
            {":me": self.holder, ":tok": {"N": self.token}, ":exp": {"N": str(now + 30_000)}},
        )

    def release(self) -> None:
        self._update(
            "SET #h = :free",
            "#h = :me AND #t = :tok",
            {":me": self.holder, ":tok": {"N": self.token}, ":free": {"S": ""}},
        )


class Same:
    """The store's own UpdateItem requests, built outside the timer and sent with boto3."""

    def __init__(self, client: Any, store: Any) -> None:
        from cloudlease.records import AcquireRequest

        self.client = client
        self.store = store
        self.request = AcquireRequest
        self.token = 0
        self.params: dict[str, Any] = {}

    def prepare(self, op: str) -> None:
        now = time.time_ns() // 1_000_000
        requests = self.store.requests
        if op == "acquire":
            self.params = requests.takeover(self.request("same", "me", 30_000, now, 1000, {}))
        elif op == "renew":
            self.params = requests.renew("same", "me", self.token, now, 30_000)
        else:
            self.params = requests.release("same", "me", self.token, now)

    def send(self) -> None:
        response = self.client.update_item(**self.params)
        self.token = int(response["Attributes"][self.store.attributes.token]["N"])


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, q2, q3 = statistics.quantiles(values, n=4)
    return q1, q2, q3


def count_requests(store: Any) -> dict[str, Counter[str]]:
    """Requests each operation sends, counted with a botocore before-send hook."""
    requests: Counter[str] = Counter()

    def count(event_name: str, **_: Any) -> None:
        requests[event_name.rsplit(".", 1)[-1]] += 1

    def measured(action: Callable[[], Any]) -> Counter[str]:
        requests.clear()
        with contextlib.suppress(LeaseHeld):
            action()
        return Counter(requests)

    store.client.meta.events.register("before-send.dynamodb", count)
    try:
        per_op = {"acquire (free)": measured(lambda: store.acquire("count", "me", 30))}
        held = store.acquire("count", "me", 30)
        per_op["acquire (re-entry)"] = measured(lambda: store.acquire("count", "me", 30))
        held = store.acquire("count", "me", 30)
        per_op["acquire (refused)"] = measured(lambda: store.acquire("count", "other", 30))
        per_op["renew"] = measured(lambda: store.renew(held))
        lease = store.renew(held)
        per_op["release"] = measured(lambda: store.release(lease))
        per_op["get"] = measured(lambda: store.get("count"))
    finally:
        store.client.meta.events.unregister("before-send.dynamodb", count)
    return per_op


def measure(store: Any, raw: Raw, same: Same, rounds: int, seed: int) -> None:
    """Time store / same request raw / minimal raw request, in random order each round."""
    lease: Any = None

    def acquire() -> None:
        nonlocal lease
        lease = store.acquire("ours", "me", 30)

    def renew() -> None:
        nonlocal lease
        lease = store.renew(lease)

    ops = {
        "acquire": (acquire, raw.acquire),
        "renew": (renew, raw.renew),
        "release": (lambda: store.release(lease), raw.release),
    }
    for _ in range(20):  # warm up connections and code paths
        for op, (ours, theirs) in ops.items():
            ours()
            theirs()
            same.prepare(op)
            same.send()
    rng = random.Random(seed)
    samples: dict[str, tuple[list[float], ...]] = {op: ([], [], []) for op in ops}
    cpu: dict[str, list[float]] = {op: [0.0, 0.0] for op in ops}
    for _ in range(rounds):
        for op, (ours, theirs) in ops.items():
            same.prepare(op)
            runs = [(0, ours), (1, same.send), (2, theirs)]
            rng.shuffle(runs)
            for index, action in runs:
                started = time.process_time()
                samples[op][index].append(timed(action))
                if index < 2:
                    cpu[op][index] += time.process_time() - started
    print(
        "median ms: store | same request sent raw | minimal raw request. Ratios: median "
        "of per-round ratios [q1-q3]. CPU: client process time per call (ms)."
    )
    print(
        f"{'op':<9}{'store':>8}{'same':>8}{'minimal':>9}  {'store/same':<22}"
        f"{'store/minimal':<22}{'cpu store':>10}{'cpu same':>9}"
    )
    for op, (mine, base, minimal) in samples.items():
        q = quartiles([a / b for a, b in zip(mine, base, strict=True)])
        m = quartiles([a / b for a, b in zip(mine, minimal, strict=True)])
        print(
            f"{op:<9}{statistics.median(mine) * 1000:>8.3f}"
            f"{statistics.median(base) * 1000:>8.3f}{statistics.median(minimal) * 1000:>9.3f}"
            f"  {q[1]:.3f} [{q[0]:.3f}-{q[2]:.3f}]   {m[1]:.3f} [{m[0]:.3f}-{m[2]:.3f}]  "
            f"{cpu[op][0] / rounds * 1000:>9.3f}{cpu[op][1] / rounds * 1000:>9.3f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.update(ENV)
    port = free_port()
    server = start_moto(port)
    try:
        endpoint = f"http://127.0.0.1:{port}"
        session = boto3.Session()
        store = DynamoDBStore("bench", region="us-east-1", endpoint_url=endpoint, session=session)
        store.init()
        raw_client = session.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url=endpoint,
            config=DEFAULT_CONFIG.merge(NO_RETRIES),
        )
        print(f"moto server on loopback, {args.rounds} rounds in random order, seed {args.seed}")
        for op, counted in count_requests(store).items():
            print(f"  {op:<20}{dict(counted)}")
        measure(store, Raw(raw_client, "bench"), Same(raw_client, store), args.rounds, args.seed)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)


if __name__ == "__main__":
    main()
