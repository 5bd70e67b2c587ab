"""``S3Store``: one JSON object per lease, every change one conditional PUT.

S3 compares and sets on the object's ETag: ``If-None-Match: *`` creates an object only if
there is none, ``If-Match: ETAG`` replaces it only if it is still the version read. The
record's rules (who may acquire, the next token) are ``cloudlease.records``, applied to the
version read; the conditional PUT makes read-decide-write atomic. Timeline of a takeover::

    GET lease          -> record R (holder A, expired), ETag e1
    decide             -> acquired(R, request): holder B, token > R.token
    PUT If-Match: e1   -> 200, ETag e2        (or 412: someone wrote since; read again)

A grant keeps its ETag in ``Lease.store_state``, so renew and release are one PUT each. The
store also remembers the last version it read or wrote per name, so an acquire of a lease
known to be free costs one PUT; a refusal is never decided on a remembered version (it reads).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError, ProfileNotFound

from cloudlease import records as rules
from cloudlease._validation import NAME_PATTERN, Duration, to_seconds
from cloudlease.clock import Clock
from cloudlease.errors import ConfigError, CorruptRecord, LeaseLost, StoreUnavailable
from cloudlease.lease import Lease, LeaseRecord
from cloudlease.records import AcquireRequest
from cloudlease.store import BaseStore, Capabilities
from cloudlease_s3 import _record as codec
from cloudlease_s3._errors import Translator, error_code, is_retryable, status_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

T = TypeVar("T")

#: botocore never retries on its own: the store decides (409 conflicts and throttling are
#: retried with backoff on the store's clock; a lost response is resolved by reading back).
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
DEFAULT_CONFIG = Config(connect_timeout=2, read_timeout=5, tcp_keepalive=True)
#: Name of the object ``init`` writes (and deletes) to prove the prefix is writable; not a
#: valid lease name, so ``records()`` skips it.
INIT_CHECK = ".cloudlease-init-check"

_FIRST_BACKOFF = 0.05  # seconds; doubles per retried attempt
_MAX_BACKOFF = 1.0
_ROUNDS = 4  # read-decide-write rounds before giving up on an object that keeps changing


@dataclass(frozen=True)
class S3State:
    """What a grant remembers: the ETag of the object version it wrote."""

    etag: str


class _Changed(Exception):
    """The precondition failed (412, or 404 on If-Match): the object changed since read."""


class S3Store(BaseStore):
    """Lease records as JSON objects under one prefix of one S3 bucket.

    Pass ``client`` (a boto3 S3 client), or ``session`` / ``profile``, ``region``,
    ``endpoint_url`` and a botocore ``config`` to build one; a built client never retries on
    its own. ``retry_budget`` bounds how long throttled (503 SlowDown) and conflicting (409
    ConditionalRequestConflict) writes are retried. ``create_bucket=True`` lets ``init``
    create a missing bucket (otherwise it only checks).
    """

    capabilities = Capabilities(
        min_ttl=1.0,
        ttl_rule=(
            "S3 leases need a ttl of at least 1 s: a conditional PUT takes tens of "
            "milliseconds and a renewal must fit in a third of the ttl"
        ),
        round_trips={"acquire": 2, "acquire_known": 1, "renew": 1, "release": 1, "get": 1},
    )

    def __init__(
        self,
        bucket: str,
        prefix: str = codec.DEFAULT_PREFIX,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        client: S3Client | None = None,
        session: boto3.Session | None = None,
        config: Config | None = None,
        create_bucket: bool = False,
        retry_budget: Duration = 5.0,
        clock: Clock | None = None,
        skew_allowance: Duration = 1.0,
        safety_margin: Duration | None = None,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(clock=clock, skew_allowance=skew_allowance, safety_margin=safety_margin)
        self.bucket = check_bucket(bucket)
        self.prefix = codec.DEFAULT_PREFIX
        self._region = region
        self._endpoint_url = endpoint_url
        self.profile = profile
        self.prefix = codec.check_prefix(prefix, store=self.url)
        if client is None:
            client = make_client(
                region=region,
                endpoint_url=endpoint_url,
                profile=profile,
                session=session,
                config=config,
                store=self.url,
            )
        self.client: S3Client = client
        self._region = client.meta.region_name or region
        self.create_bucket = create_bucket
        self.retry_budget = to_seconds(
            retry_budget, what="retry_budget", store=self.url, allow_zero=True
        )
        self._translate = Translator(self.bucket, self.prefix, self.url)
        self._rng = rng or random.Random()
        self._never = threading.Event()
        self._lock = threading.Lock()
        self._known: dict[str, tuple[LeaseRecord, str]] = {}

    @property
    def region(self) -> str | None:
        return self._region

    @property
    def url(self) -> str:
        query: dict[str, str] = {}
        if self._region:
            query["region"] = self._region
        if self._endpoint_url:
            query["endpoint_url"] = self._endpoint_url
        if self.profile:
            query["profile"] = self.profile
        suffix = f"?{urlencode(query, safe=':/')}" if query else ""
        return f"s3://{self.bucket}/{self.prefix}{suffix}"

    def key(self, name: str) -> str:
        """The object key of lease ``name``."""
        return self.prefix + name

    # -- requests ---------------------------------------------------------------------------

    def _call(self, call: Callable[[], T], *, lease: str | None, write: bool, budget: float) -> T:
        """One request; 409 conflicts and throttling retried with jittered backoff.

        412 PreconditionFailed and 404 NoSuchKey pass through as ClientError for the caller
        to interpret; every other failure becomes a cloudlease error naming bucket and prefix.
        """
        give_up = self.clock.monotonic() + budget
        delay = _FIRST_BACKOFF
        while True:
            try:
                return call()
            except ClientError as exc:
                if error_code(exc) in ("PreconditionFailed", "NoSuchKey") or (
                    status_of(exc) == 412
                ):
                    raise
                if is_retryable(exc):
                    pause = self._rng.uniform(delay / 2, delay)
                    if self.clock.monotonic() + pause <= give_up:
                        self.clock.wait(self._never, pause)
                        delay = min(delay * 2, _MAX_BACKOFF)
                        continue
                raise self._translate(exc, lease=lease, write=write) from exc
            except BotoCoreError as exc:
                raise self._translate(exc, lease=lease, write=write) from exc

    def _remember(self, name: str, known: tuple[LeaseRecord, str] | None) -> None:
        with self._lock:
            if known is None:
                self._known.pop(name, None)
            else:
                self._known[name] = known

    def _recall(self, name: str) -> tuple[LeaseRecord, str] | None:
        with self._lock:
            return self._known.get(name)

    def _read(self, name: str) -> tuple[LeaseRecord, str] | None:
        """GET the object: (record, ETag), or None when there is none."""
        key = self.key(name)
        try:
            response = self._call(
                lambda: self.client.get_object(Bucket=self.bucket, Key=key),
                lease=name,
                write=False,
                budget=self.retry_budget,
            )
            body = response["Body"].read()
        except ClientError as exc:
            if error_code(exc) == "NoSuchKey" or status_of(exc) == 404:
                self._remember(name, None)
                return None
            raise self._translate(exc, lease=name, write=False) from exc
        except BotoCoreError as exc:  # the body's stream broke
            raise self._translate(exc, lease=name, write=False) from exc
        record = codec.decode(body, name, where=f"s3://{self.bucket}/{key}", store=self.url)
        known = (record, str(response["ETag"]))
        self._remember(name, known)
        return known

    def _write(self, record: LeaseRecord, etag: str | None, budget: float) -> str:
        """PUT ``record`` if the object is still version ``etag`` (None: if there is none)."""
        name = record.name
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key(name),
            "Body": codec.encode(record),
            "ContentType": "application/json",
        }
        if etag is None:
            params["IfNoneMatch"] = "*"
        else:
            params["IfMatch"] = etag
        try:
            response = self._call(
                lambda: self.client.put_object(**params), lease=name, write=True, budget=budget
            )
        except ClientError as exc:
            if error_code(exc) in ("PreconditionFailed", "NoSuchKey") or status_of(exc) in (
                404,
                412,
            ):
                self._remember(name, None)
                raise _Changed from None
            raise self._translate(exc, lease=name, write=True) from exc
        written = str(response["ETag"])
        self._remember(name, (record, written))
        return written

    # -- primitives -------------------------------------------------------------------------

    def _acquire(self, request: AcquireRequest) -> tuple[LeaseRecord, Any]:
        budget = min(self.retry_budget, request.ttl_ms / 2000)
        known = self._recall(request.name)
        for _ in range(_ROUNDS):
            if known is None or not rules.can_acquire(known[0], request):
                known = self._read(request.name)  # refusals are decided on a fresh read only
                if known is not None and not rules.can_acquire(known[0], request):
                    raise self._held(request, known[0])
            current, etag = known if known is not None else (None, None)
            record = rules.acquired(current, request)
            try:
                return record, S3State(self._write(record, etag, budget))
            except _Changed:
                known = None
        raise self._changing(request.name, "acquire")

    def _write_if_ours(
        self, lease: Lease, change: Callable[[LeaseRecord], LeaseRecord], budget: float
    ) -> tuple[LeaseRecord, S3State] | LeaseRecord | None:
        """Write ``change(record)`` while the record names ``lease``: (record, state), or the
        record found instead (None: no object)."""
        state = lease.store_state
        known = (lease.record, state.etag) if isinstance(state, S3State) else None
        for _ in range(_ROUNDS):
            if known is None:
                known = self._read(lease.name)
            if known is None or not rules.holds(known[0], lease.holder, lease.token):
                return None if known is None else known[0]
            record = change(known[0])
            try:
                return record, S3State(self._write(record, known[1], budget))
            except _Changed:
                known = None
        raise self._changing(lease.name, "write")

    def _renew(self, lease: Lease, now_ms: int, ttl_ms: int) -> tuple[LeaseRecord, Any]:
        budget = min(self.retry_budget, max(lease.remaining(), 0.0))
        try:
            outcome = self._write_if_ours(
                lease, lambda record: rules.renewed(record, now_ms, ttl_ms), budget
            )
        except CorruptRecord as exc:
            raise LeaseLost(
                f"token {lease.token} is no longer valid: the object was overwritten by "
                f"something else ({exc.detail})",
                lease=lease.name,
                store=self.url,
            ) from exc
        if isinstance(outcome, tuple):
            return outcome
        raise self._lost(lease, outcome)

    def _release(self, lease: Lease, now_ms: int) -> bool:
        outcome = self._write_if_ours(
            lease, lambda record: rules.released(record, now_ms), self.retry_budget
        )
        return isinstance(outcome, tuple)

    def _get(self, name: str) -> LeaseRecord | None:
        known = self._read(name)
        return None if known is None else known[0]

    def _state_after_ambiguous(self, previous_state: Any, record: LeaseRecord) -> Any:
        """After a read-back: the ETag of the version read, if it is exactly ``record``."""
        known = self._recall(record.name)
        if known is not None and known[0] == record:
            return S3State(known[1])
        return None  # unknown: the next renewal reads first

    def _list(self) -> list[LeaseRecord]:
        found: list[LeaseRecord] = []
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            pages = list(paginator.paginate(Bucket=self.bucket, Prefix=self.prefix))
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, lease=None, write=False) from exc
        for page in pages:
            for entry in page.get("Contents", []):
                name = entry.get("Key", "")[len(self.prefix) :]
                if not NAME_PATTERN.fullmatch(name):
                    continue  # nested keys and the init check are not leases
                known = self._read(name)
                if known is not None:
                    found.append(known[0])
        return found

    def _force_release(self, name: str, now_ms: int) -> LeaseRecord | None:
        for _ in range(_ROUNDS):
            known = self._read(name)
            if known is None:
                return None
            try:
                self._write(rules.released(known[0], now_ms), known[1], self.retry_budget)
            except _Changed:
                continue
            return known[0]
        raise self._changing(name, "forced release")

    def delete_record(self, name: str) -> None:
        """Delete the object outright, as a lifecycle rule or an operator would."""
        key = self.key(name)
        self._remember(name, None)
        self._call(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=key),
            lease=name,
            write=True,
            budget=self.retry_budget,
        )

    def _changing(self, name: str, what: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"the lease object changed {_ROUNDS} times during one {what}; nothing of ours "
            "was written, retry",
            lease=name,
            store=self.url,
        )

    # -- bucket -----------------------------------------------------------------------------

    def init(self, *, create_bucket: bool | None = None) -> None:
        """Check that the bucket exists and the prefix is writable; idempotent.

        Creates a missing bucket only when asked (``create_bucket=True`` here or on the store,
        ``cloudlease init --create-bucket``); it then has no lifecycle rule or policy: prefer
        terraform/s3 for anything that lasts.
        """
        from cloudlease_s3._bucket import ensure_bucket

        ensure_bucket(self, self.create_bucket if create_bucket is None else create_bucket)

    def close(self) -> None:
        self.client.close()


_BUCKET_RULE = (
    "3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
)


def check_bucket(bucket: object) -> str:
    """The bucket name, or ConfigError for a name S3 would reject (before any request)."""
    if not isinstance(bucket, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", bucket):
        raise ConfigError(
            f"invalid S3 bucket name {bucket!r}: {_BUCKET_RULE}", store=f"s3://{bucket}"
        )
    return bucket


def make_client(
    *,
    region: str | None,
    endpoint_url: str | None,
    profile: str | None,
    session: boto3.Session | None,
    config: Config | None,
    store: str,
) -> S3Client:
    """An S3 client with the store's timeouts and without botocore's own retries."""
    merged = DEFAULT_CONFIG if config is None else DEFAULT_CONFIG.merge(config)
    merged = merged.merge(NO_RETRIES)
    try:
        if session is None:
            session = boto3.Session(profile_name=profile)
        return session.client("s3", region_name=region, endpoint_url=endpoint_url, config=merged)
    except ProfileNotFound as exc:
        raise ConfigError(
            f"AWS profile {profile!r} is not configured ({exc}); fix ?profile= or ~/.aws/config",
            store=store,
        ) from None
    except NoRegionError:
        raise ConfigError(
            "no AWS region: add ?region=REGION to the URL, or set AWS_REGION / AWS_DEFAULT_REGION",
            store=store,
        ) from None
    except ValueError as exc:  # e.g. a malformed endpoint_url
        raise ConfigError(f"cannot build the S3 client: {exc}", store=store) from None
