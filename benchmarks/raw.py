"""The same lease operations written by hand with each SDK: the baselines of the overhead table.

Each class does the work the store does, no less: the same condition, the same transaction,
the same number of requests, a record with the same fields. What it leaves out is what
cloudlease adds on the client: validating input, building a Lease on the monotonic clock,
decoding the record, resolving ambiguous outcomes. DynamoDB's baseline sends the store's own
UpdateItem (built before the timer starts), so the ratio isolates the client-side cost.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from typing import Any

from cloudlease.errors import LeaseHeld

FIELDS = ("holder", "token", "expires_at", "acquired_at", "renewed_at", "transitions")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Refused(Exception):
    """The raw acquire found the lease held by someone else."""


class RawMemory:
    """A dict of records behind one lock, the rules written inline."""

    def __init__(self, ttl: float) -> None:
        self.ttl_ms = round(ttl * 1000)
        self.lock = threading.Lock()
        self.records: dict[str, dict[str, Any]] = {}
        self.token = 0

    def acquire(self, name: str, holder: str = "raw") -> None:
        now = now_ms()
        with self.lock:
            current = self.records.get(name)
            if current and current["holder"] not in ("", holder) and current["expires_at"] >= now:
                raise Refused(name)
            token = now if current is None else max(current["token"] + 1, now)
            self.records[name] = {"holder": holder, "token": token, "expires_at": now + self.ttl_ms}
            self.token = token

    def renew(self, name: str) -> None:
        now = now_ms()
        with self.lock:
            current = self.records[name]
            if current["holder"] != "raw" or current["token"] != self.token:
                raise Refused(name)
            self.records[name] = dict(current, expires_at=now + self.ttl_ms)

    def release(self, name: str) -> None:
        with self.lock:
            current = self.records[name]
            if current["holder"] == "raw" and current["token"] == self.token:
                self.records[name] = dict(current, holder="")

    def get(self, name: str) -> None:
        with self.lock:
            self.records.get(name)

    def close(self) -> None:
        pass


class RawSQLite:
    """What the store sends, by hand, on the same file and pragmas: an acquire is one BEGIN
    IMMEDIATE transaction (read, decide, write), a renewal or a release one conditional
    UPDATE, a read one SELECT."""

    def __init__(self, path: str, ttl: float) -> None:
        self.ttl_ms = round(ttl * 1000)
        self.db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS raw_leases (name TEXT PRIMARY KEY, holder TEXT, "
            "token INTEGER, expires_at INTEGER, acquired_at INTEGER, renewed_at INTEGER, "
            "transitions INTEGER, metadata TEXT)"
        )
        self.token = 0

    def _select(self, name: str) -> Any:
        return self.db.execute(
            "SELECT holder, token, expires_at, transitions FROM raw_leases WHERE name = ?", (name,)
        ).fetchone()

    def acquire(self, name: str, holder: str = "raw") -> None:
        now = now_ms()
        self.db.execute("BEGIN IMMEDIATE")
        try:
            row = self._select(name)
            if row and row[0] not in ("", holder) and row[2] >= now:
                raise Refused(name)
            token = now if row is None else max(row[1] + 1, now)
            self.db.execute(
                "INSERT OR REPLACE INTO raw_leases VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    name,
                    holder,
                    token,
                    now + self.ttl_ms,
                    now,
                    now,
                    (row[3] + 1) if row else 1,
                    "{}",
                ),
            )
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.token = token

    def _if_ours(self, name: str, sql: str, args: tuple[Any, ...]) -> None:
        if self.db.execute(sql, (*args, name, "raw", self.token)).rowcount != 1:
            raise Refused(name)

    def renew(self, name: str) -> None:
        now = now_ms()
        sql = (
            "UPDATE raw_leases SET expires_at = ?, renewed_at = ? "
            "WHERE name = ? AND holder = ? AND token = ?"
        )
        self._if_ours(name, sql, (now + self.ttl_ms, now))

    def release(self, name: str) -> None:
        sql = (
            "UPDATE raw_leases SET holder = '', expires_at = ? "
            "WHERE name = ? AND holder = ? AND token = ?"
        )
        self._if_ours(name, sql, (now_ms(),))

    def get(self, name: str) -> None:
        self.db.execute("SELECT * FROM raw_leases WHERE name = ?", (name,)).fetchone()

    def close(self) -> None:
        self.db.close()


class RawDynamoDB:
    """The store's own UpdateItem / GetItem requests, built outside the timer, sent with boto3.

    ``prepare(op, name)`` builds the request (untimed); the timed call only sends it and
    reads the answer, as hand-written boto3 code with the same condition would.
    """

    def __init__(self, client: Any, store: Any, ttl: float) -> None:
        from cloudlease.records import AcquireRequest

        self.client = client
        self.store = store
        self.ttl_ms = round(ttl * 1000)
        self.request_type = AcquireRequest
        self.token = 0
        self.params: dict[str, Any] = {}

    def prepare(self, op: str, name: str) -> None:
        now = now_ms()
        requests = self.store.requests
        holder = "raw-other" if op == "refused" else "raw"
        if op in ("acquire", "refused"):
            request = self.request_type(name, holder, self.ttl_ms, now, 1000, {})
            self.params = requests.takeover(request)
        elif op == "renew":
            self.params = requests.renew(name, "raw", self.token, now, self.ttl_ms)
        elif op == "release":
            self.params = requests.release(name, "raw", self.token, now)
        else:
            self.params = {
                "TableName": self.store.table,
                "Key": requests.key(name),
                "ConsistentRead": True,
            }

    def send(self, op: str) -> None:
        if op == "get":
            self.client.get_item(**self.params)
            return
        try:
            response = self.client.update_item(**self.params)
        except self.client.exceptions.ConditionalCheckFailedException:
            if op != "refused":
                raise
            return
        if op == "acquire":
            self.token = int(response["Attributes"][self.store.attributes.token]["N"])

    def close(self) -> None:
        pass


class RawFirestore:
    """A read, then a write with an update_time precondition (``create`` when there was no
    document) for acquire; writes with an update_time precondition for renew and release."""

    def __init__(self, client: Any, collection: str, ttl: float) -> None:
        self.client = client
        self.collection = client.collection(collection)
        self.ttl_ms = round(ttl * 1000)
        self.state: dict[str, Any] = {}

    def acquire(self, name: str, holder: str = "raw") -> None:
        ref = self.collection.document(name)
        now = now_ms()
        snapshot = ref.get()
        current = snapshot.to_dict() if snapshot.exists else None
        if current and current["holder"] not in ("", holder) and current["expires_at"] >= now:
            raise Refused(ref.id)
        token = now if current is None else max(current["token"] + 1, now)
        record = {
            "name": ref.id,
            "holder": holder,
            "token": token,
            "expires_at": now + self.ttl_ms,
            "acquired_at": now,
            "renewed_at": now,
            "transitions": (current["transitions"] + 1) if current else 1,
            "metadata": {},
        }
        if current is None:
            result = ref.create(record)
        else:
            option = self.client.write_option(last_update_time=snapshot.update_time)
            result = ref.update(record, option=option)
        self.state = {"record": record, "update_time": result.update_time}

    def _write(self, name: str, change: dict[str, Any]) -> None:
        ref = self.collection.document(name)
        record = dict(self.state["record"], **change)
        when = self.state.get("update_time")
        option = self.client.write_option(last_update_time=when) if when else None
        result = ref.update(record, option=option)
        self.state = {"record": record, "update_time": result.update_time}

    def renew(self, name: str) -> None:
        now = now_ms()
        self._write(name, {"expires_at": now + self.ttl_ms, "renewed_at": now})

    def release(self, name: str) -> None:
        self._write(name, {"holder": "", "renewed_at": now_ms()})

    def get(self, name: str) -> None:
        self.collection.document(name).get()

    def close(self) -> None:
        pass


class RawAzure:
    """Read the blob, take its lease conditioned on the ETag, write the record under the lease."""

    def __init__(self, container: Any, ttl: float) -> None:
        from azure.core import MatchConditions
        from azure.storage.blob import BlobLeaseClient

        self.container = container
        self.seconds = round(ttl)
        self.match = MatchConditions.IfNotModified
        self.lease_type = BlobLeaseClient
        self.lease: Any = None
        self.token = 0

    def _blob(self, name: str) -> Any:
        return self.container.get_blob_client(f"raw/{name}")

    def acquire(self, name: str, holder: str = "raw") -> None:
        blob = self._blob(name)
        now = now_ms()
        try:
            props = blob.get_blob_properties()
        except Exception:  # first use: create the blob (not part of the timed rounds)
            blob.upload_blob(b"")
            props = blob.get_blob_properties()
        if props.lease.state == "leased":
            raise Refused(name)
        meta = props.metadata or {}
        token = max(int(meta.get("token", 0)) + 1, now)
        lease = self.lease_type(blob, str(uuid.uuid4()))
        lease.acquire(self.seconds, etag=props.etag, match_condition=self.match)
        record = {
            "holder": holder,
            "token": str(token),
            "expires_at": str(now + self.seconds * 1000),
            "acquired_at": str(now),
            "renewed_at": str(now),
            "transitions": str(int(meta.get("transitions", 0)) + 1),
            "metadata": json.dumps({}),
        }
        blob.set_blob_metadata(record, lease=lease)
        self.lease, self.token = lease, token

    def renew(self, name: str) -> None:
        self.lease.renew()

    def release(self, name: str) -> None:
        blob = self._blob(name)
        record = {"holder": "", "token": str(self.token), "renewed_at": str(now_ms())}
        blob.set_blob_metadata(record, lease=self.lease)
        self.lease.release()

    def get(self, name: str) -> None:
        self._blob(name).get_blob_properties()

    def close(self) -> None:
        pass


class _RawVersioned:
    """Read-decide-write on one JSON object per lease with a version precondition, by hand:
    what S3 (ETag) and Cloud Storage (generation) stores do. The last version read or written
    is kept, so a free acquire after our own release is one write, as the store's is."""

    def __init__(self, ttl: float) -> None:
        self.ttl_ms = round(ttl * 1000)
        self.known: dict[str, tuple[dict[str, Any], Any]] = {}

    def _read(self, name: str) -> tuple[dict[str, Any], Any] | None:
        raise NotImplementedError

    def _put(self, name: str, record: dict[str, Any], version: Any) -> Any:
        raise NotImplementedError

    def _write(self, name: str, record: dict[str, Any], version: Any) -> None:
        self.known[name] = (record, self._put(name, record, version))

    def acquire(self, name: str, holder: str = "raw") -> None:
        now = now_ms()
        known = self.known.get(name)
        if known is None or known[0]["holder"] not in ("", holder):
            known = self._read(name)
        current, version = known if known else (None, None)
        if current and current["holder"] not in ("", holder) and current["expires_at"] >= now:
            raise Refused(name)
        token = now if current is None else max(current["token"] + 1, now)
        record: dict[str, Any] = {
            "name": name,
            "holder": holder,
            "token": token,
            "expires_at": now + self.ttl_ms,
            "acquired_at": now,
            "renewed_at": now,
            "transitions": (current["transitions"] + 1) if current else 1,
            "metadata": {},
        }
        self._write(name, record, version)

    def renew(self, name: str) -> None:
        record, version = self.known[name]
        now = now_ms()
        self._write(name, dict(record, expires_at=now + self.ttl_ms, renewed_at=now), version)

    def release(self, name: str) -> None:
        record, version = self.known[name]
        self._write(name, dict(record, holder="", renewed_at=now_ms()), version)

    def get(self, name: str) -> None:
        self._read(name)

    def close(self) -> None:
        pass


def _body(record: dict[str, Any]) -> bytes:
    body = {"kind": "cloudlease.lease", "schema": 1, "record": record}
    return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()


class RawS3(_RawVersioned):
    """GetObject, then PutObject with If-Match (If-None-Match: * to create), with boto3."""

    def __init__(self, client: Any, bucket: str, ttl: float) -> None:
        super().__init__(ttl)
        self.client, self.bucket = client, bucket

    def _read(self, name: str) -> tuple[dict[str, Any], Any] | None:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=f"raw/{name}")
        except self.client.exceptions.NoSuchKey:
            return None
        return json.loads(response["Body"].read())["record"], response["ETag"]

    def _put(self, name: str, record: dict[str, Any], version: Any) -> Any:
        condition = {"IfMatch": version} if version else {"IfNoneMatch": "*"}
        response = self.client.put_object(
            Bucket=self.bucket,
            Key=f"raw/{name}",
            Body=_body(record),
            ContentType="application/json",
            **condition,
        )
        return response["ETag"]


class RawGCS(_RawVersioned):
    """A media download, then an upload with ifGenerationMatch, with google-cloud-storage."""

    def __init__(self, client: Any, bucket: str, ttl: float) -> None:
        from google.api_core.exceptions import NotFound

        super().__init__(ttl)
        self.bucket = client.bucket(bucket)
        self.missing = NotFound

    def _read(self, name: str) -> tuple[dict[str, Any], Any] | None:
        blob = self.bucket.blob(f"raw/{name}")
        try:
            data = blob.download_as_bytes(retry=None)
        except self.missing:
            return None
        return json.loads(data)["record"], blob.generation

    def _put(self, name: str, record: dict[str, Any], version: Any) -> Any:
        blob = self.bucket.blob(f"raw/{name}")
        blob.upload_from_string(
            _body(record),
            content_type="application/json",
            if_generation_match=version or 0,
            retry=None,
        )
        return blob.generation


def refused_ours(store: Any, name: str, ttl: float) -> None:
    """cloudlease's acquire of a lease held elsewhere (LeaseHeld is the expected outcome)."""
    try:
        store.acquire(name, "me-too", ttl)
    except LeaseHeld:
        return
    raise AssertionError(f"{name} was not held elsewhere")
