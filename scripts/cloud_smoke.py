"""Check one cloud store with your own account in about a minute (opt-in; not a test).

    python scripts/cloud_smoke.py dynamodb --region eu-west-1 --yes-use-my-account
    python scripts/cloud_smoke.py s3 --region eu-west-1 --yes-use-my-account
    python scripts/cloud_smoke.py firestore --project my-project --yes-use-my-account
    python scripts/cloud_smoke.py gcs --project my-project --yes-use-my-account
    python scripts/cloud_smoke.py azure --account mystorageaccount --yes-use-my-account

It creates its own table, bucket, collection or container with a unique name
(``cloudlease-smoke-<random>``), runs the lease operations once each (acquire, renew, a refused
acquire, release, acquire again, release, get), prints the requests and the latency of each,
and deletes what it created. It stops after ``--max-requests`` requests (50; deleting what it
created may take a few more). Without ``--yes-use-my-account`` or without credentials it
refuses (exit 2) before any request. ``--endpoint`` (or the SDK's emulator variable:
``FIRESTORE_EMULATOR_HOST``, ``STORAGE_EMULATOR_HOST``, ``AZURE_STORAGE_CONNECTION_STRING``)
points it at a local emulator: that is how it was exercised here (moto, the Firestore emulator,
fake-gcs-server, Azurite), never against a real cloud. Exit 0 when every step behaved, 1 if not.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

STORES = ("dynamodb", "s3", "firestore", "gcs", "azure")
FLAG = "--yes-use-my-account"
TTL = {"azure": 15.0, "gcs": 6.0}  # the shortest lease each store grants well; others 10 s
CLEANUP_ALLOWANCE = 30  # requests allowed past the cap to delete what was created
Rows = list[tuple[str, int, float, str]]  # step, requests, latency (ms), result


class CapReached(RuntimeError):
    """The request cap was reached: the run stops and cleans up."""


class Requests:
    """Counts requests on the wire (urllib3: boto3, google-cloud-storage, azure; gRPC calls for
    Firestore) and stops the run at the cap."""

    def __init__(self, cap: int) -> None:
        self.cap, self.count = cap, 0

    def add(self) -> None:
        self.count += 1
        if self.count > self.cap:
            raise CapReached(f"stopped at the cap of {self.cap} requests (--max-requests)")

    def install(self) -> None:
        import urllib3.connectionpool

        pool = urllib3.connectionpool.HTTPConnectionPool
        urlopen = pool.urlopen

        def counted(self_: Any, *args: Any, **kwargs: Any) -> Any:
            self.add()
            return urlopen(self_, *args, **kwargs)

        pool.urlopen = counted  # type: ignore[method-assign,assignment]

    def wrap_grpc_api(self, api: Any) -> None:
        """Count each call of a Firestore GAPIC client (one RPC each; the store sets no retries)."""
        for name in (
            "batch_get_documents",
            "begin_transaction",
            "commit",
            "rollback",
            "get_document",
            "run_query",
            "list_documents",
            "delete_document",
            "batch_write",
        ):
            method = getattr(api, name, None)
            if method is not None:
                setattr(api, name, self._counting(method))

    def _counting(self, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.add()
            return method(*args, **kwargs)

        return call


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="cloud_smoke.py",
        description="Create, use and delete a lease store in your own cloud account; print "
        "requests and latency per operation.",
    )
    parser.add_argument("store", choices=STORES)
    parser.add_argument(
        FLAG,
        dest="yes",
        action="store_true",
        help="required: requests are "
        "made, billed to your account, and a table/bucket/container is created "
        "and deleted",
    )
    parser.add_argument("--region", help="dynamodb, s3: the AWS region")
    parser.add_argument("--profile", help="dynamodb, s3: the AWS profile")
    parser.add_argument("--project", help="firestore, gcs: the Google Cloud project")
    parser.add_argument("--account", help="azure: the storage account")
    parser.add_argument("--endpoint", help="an emulator's endpoint (dynamodb, s3, azure)")
    parser.add_argument(
        "--max-requests", type=int, default=50, metavar="N", help="stop after N requests (50)"
    )
    args = parser.parse_args(argv)
    needs = {
        "dynamodb": "region",
        "s3": "region",
        "firestore": "project",
        "gcs": "project",
        "azure": "account",
    }[args.store]
    if getattr(args, needs) is None:
        parser.error(f"{args.store} needs --{needs}")
    if not 10 <= args.max_requests <= 1000:
        parser.error("--max-requests must be 10-1000")
    return args


def store_url(args: argparse.Namespace, name: str) -> str:
    """The URL of a store in a place of its own named ``name``."""
    endpoint = args.endpoint
    if args.store in ("dynamodb", "s3"):
        query = f"region={args.region}"
        query += f"&profile={args.profile}" if args.profile else ""
        query += f"&endpoint_url={endpoint}" if endpoint else ""
        return (
            f"dynamodb://{name}?{query}"
            if args.store == "dynamodb"
            else f"s3://{name}/smoke?{query}"
        )
    if args.store == "firestore":
        return f"firestore://{args.project}/{name.replace('-', '_')}"
    if args.store == "gcs":
        return f"gs://{name}/smoke?project={args.project}"
    return f"azblob://{args.account}/{name}" + (f"?endpoint={endpoint}" if endpoint else "")


def credentials_missing(args: argparse.Namespace) -> str | None:
    """Why there are no credentials to use, or None (checked without a request)."""
    if args.store in ("dynamodb", "s3"):
        import boto3

        if boto3.Session(profile_name=args.profile).get_credentials() is None:
            return "no AWS credentials (environment, profile or instance role)"
        return None
    if args.store in ("firestore", "gcs"):
        emulator = (
            "FIRESTORE_EMULATOR_HOST" if args.store == "firestore" else "STORAGE_EMULATOR_HOST"
        )
        if os.environ.get(emulator):
            return None
        import google.auth
        import google.auth.exceptions

        try:
            google.auth.default()
        except google.auth.exceptions.DefaultCredentialsError:
            return (
                "no Google Application Default Credentials (gcloud auth application-default login)"
            )
        return None
    azure_env = (
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "MSI_ENDPOINT",
    )
    if any(os.environ.get(name) for name in azure_env):
        return None
    import shutil

    if shutil.which("az") is None:
        return "no Azure credentials (a connection string, a managed identity or `az login`)"
    return None


def delete(args: argparse.Namespace, store: Any) -> None:
    """Delete the table, bucket, collection or container the run created."""
    if args.store == "dynamodb":
        store.client.delete_table(TableName=store.table)
    elif args.store == "s3":
        listed = store.client.list_object_versions(Bucket=store.bucket)
        for item in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
            store.client.delete_object(
                Bucket=store.bucket, Key=item["Key"], VersionId=item["VersionId"]
            )
        store.client.delete_bucket(Bucket=store.bucket)
    elif args.store == "firestore":
        for document in store.client.collection(store.collection).list_documents():
            document.delete()
    elif args.store == "gcs":
        store.client.bucket(store.bucket).delete(force=True)
    else:
        store.container_client.delete_container()


@contextmanager
def timed(rows: Rows, requests: Requests, step: str) -> Iterator[list[str]]:
    """Record one step: its requests, its latency and what came out."""
    note: list[str] = []
    before, start = requests.count, time.perf_counter()
    try:
        yield note
    finally:
        rows.append(
            (step, requests.count - before, (time.perf_counter() - start) * 1000, " ".join(note))
        )


def exercise(args: argparse.Namespace, store: Any, requests: Requests, rows: Rows) -> bool:
    """Create the store's place, then each lease operation once; True if all behaved."""
    from cloudlease import LeaseHeld

    ttl = TTL.get(args.store, 10.0)
    with timed(rows, requests, "create (init)"):
        if args.store in ("s3", "gcs"):
            store.init(create_bucket=True)
        else:
            store.init()
    with timed(rows, requests, "acquire (first)") as note:
        lease = store.acquire("smoke", "holder-a", ttl)
        note.append(f"token {lease.token}")
    with timed(rows, requests, "renew"):
        lease = store.renew(lease, ttl)
    with timed(rows, requests, "acquire (refused)") as note:
        try:
            store.acquire("smoke", "holder-b", ttl)
            note.append("NOT REFUSED")
        except LeaseHeld as exc:
            note.append(f"held by {exc.record.holder if exc.record else '?'}")
    with timed(rows, requests, "release"):
        store.release(lease)
    with timed(rows, requests, "acquire (again)") as note:
        again = store.acquire("smoke", "holder-b", ttl)
        note.append(f"token {again.token}" + ("" if again.token > lease.token else " NOT GREATER"))
    with timed(rows, requests, "release"):
        store.release(again)
    with timed(rows, requests, "get") as note:
        record = store.get("smoke")
        note.append("free" if record is not None and not record.holder else "NOT FREE")
    return not any("NOT" in row[3] for row in rows)


def run(args: argparse.Namespace, requests: Requests) -> int:
    from cloudlease import CloudLeaseError, open_store

    store: Any = open_store(store_url(args, f"cloudlease-smoke-{uuid.uuid4().hex[:10]}"))
    print(f"store: {store.url} (created for this run, deleted at the end)")
    if args.store == "firestore":
        requests.wrap_grpc_api(store.client._firestore_api)
    rows: Rows = []
    ok = False
    try:
        ok = exercise(args, store, requests, rows)
    except (CapReached, CloudLeaseError) as exc:
        print(f"cloud_smoke: {exc}", file=sys.stderr)
    finally:
        requests.cap += CLEANUP_ALLOWANCE
        try:
            with timed(rows, requests, "delete"):
                delete(args, store)
        finally:
            store.close()
            print(f"{'step':<20} {'requests':>8} {'ms':>9}  result")
            for step, count, ms, result in rows:
                print(f"{step:<20} {count:>8} {ms:>9.1f}  {result}")
            print(f"total: {requests.count} requests")
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if not args.yes:
        print(
            f"cloud_smoke: refusing: this creates a {args.store} resource in your account, makes "
            f"up to {args.max_requests} billed requests and deletes it; add {FLAG} to go on",
            file=sys.stderr,
        )
        return 2
    missing = credentials_missing(args)
    if missing:
        print(f"cloud_smoke: refusing: {missing}; nothing was requested", file=sys.stderr)
        return 2
    requests = Requests(args.max_requests)
    requests.install()
    return run(args, requests)


if __name__ == "__main__":
    sys.exit(main())
