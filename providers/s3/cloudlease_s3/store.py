"""``S3Store``: one JSON object per lease, every change one conditional PUT.

S3 compares and sets on the object's ETag: ``If-None-Match: *`` creates an object only if
there is none, ``If-Match: ETAG`` replaces it only if it is still the version read. The
read-decide-write is ``cloudlease.stores.versioned``; this module holds the S3 requests::

    GET lease          -> record R (holder A, expired), ETag e1
    decide             -> acquired(R, request): holder B, token > R.token
    PUT If-Match: e1   -> 200, ETag e2        (or 412: someone wrote since; read again)

A grant keeps its ETag in ``Lease.store_state``, so renew and release are one PUT each; an
acquire of a lease known to be free costs one PUT; a refusal is always decided on a fresh GET.
"""

from __future__ import annotations

import random
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoRegionError, ProfileNotFound

from cloudlease._validation import Duration
from cloudlease.errors import ConfigError
from cloudlease.store import Capabilities
from cloudlease.stores import objects
from cloudlease.stores.objects import INIT_CHECK
from cloudlease.stores.versioned import ObjectVersion, Verdict, VersionChanged, VersionedStore
from cloudlease_s3._errors import Translator, error_code, is_retryable, status_of

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from typing_extensions import Unpack

    from cloudlease._contract import Timing

__all__ = ["DEFAULT_CONFIG", "INIT_CHECK", "NO_RETRIES", "S3State", "S3Store", "make_client"]

#: botocore never retries on its own: the store decides (409 conflicts and throttling are
#: retried with backoff on the store's clock; a lost response is resolved by reading back).
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
DEFAULT_CONFIG = Config(connect_timeout=2, read_timeout=5, tcp_keepalive=True)
_CHANGED_CODES = ("PreconditionFailed", "NoSuchKey")


class S3State(ObjectVersion[str]):
    """What a grant remembers: the ETag of the object version it wrote."""

    @property
    def etag(self) -> str:
        return self.version


class S3Store(VersionedStore[str]):
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
        round_trips={"acquire": 2, "acquire_known": 1, "renew": 1, "release": 1, "get": 1}
        | {"steal": 2},
    )
    scheme = "s3"
    package = "cloudlease-s3"
    state_type = S3State

    def __init__(
        self,
        bucket: str,
        prefix: str = objects.DEFAULT_PREFIX,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        profile: str | None = None,
        client: S3Client | None = None,
        session: boto3.Session | None = None,
        config: Config | None = None,
        create_bucket: bool = False,
        retry_budget: Duration = 5.0,
        rng: random.Random | None = None,
        **timing: Unpack[Timing],
    ) -> None:
        self._region = region
        self._endpoint_url = endpoint_url
        self.profile = profile
        super().__init__(
            check_bucket(bucket),
            prefix,
            create_bucket=create_bucket,
            retry_budget=retry_budget,
            rng=rng,
            **timing,
        )
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
        self._translate = Translator(self.bucket, self.prefix, self.url)

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

    # -- requests ---------------------------------------------------------------------------

    def _verdict(self, exc: Exception) -> Verdict:
        """409 conflicts and throttling are retried; 412 PreconditionFailed and 404 NoSuchKey
        pass to the caller; other botocore failures name bucket and prefix."""
        if isinstance(exc, ClientError):
            if error_code(exc) in _CHANGED_CODES or status_of(exc) == 412:
                return Verdict.PASS
            return Verdict.RETRY if is_retryable(exc) else Verdict.FAIL
        return Verdict.FAIL if isinstance(exc, BotoCoreError) else Verdict.PASS

    def _read_object(self, name: str) -> tuple[bytes, str] | None:
        """GET the object: (body, ETag), or None when there is none."""
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
                return None
            raise self._translate(exc, lease=name, write=False) from exc
        except BotoCoreError as exc:  # the body's stream broke
            raise self._translate(exc, lease=name, write=False) from exc
        return body, str(response["ETag"])

    def _write_object(self, name: str, body: bytes, if_version: str | None, budget: float) -> str:
        """PUT ``body`` if the object is still ETag ``if_version`` (None: if there is none)."""
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key(name),
            "Body": body,
            "ContentType": "application/json",
        }
        if if_version is None:
            params["IfNoneMatch"] = "*"
        else:
            params["IfMatch"] = if_version
        try:
            response = self._call(
                lambda: self.client.put_object(**params), lease=name, write=True, budget=budget
            )
        except ClientError as exc:
            if error_code(exc) in _CHANGED_CODES or status_of(exc) in (404, 412):
                raise VersionChanged from None
            raise self._translate(exc, lease=name, write=True) from exc
        return str(response["ETag"])

    def _list_keys(self) -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            pages = list(paginator.paginate(Bucket=self.bucket, Prefix=self.prefix))
        except (ClientError, BotoCoreError) as exc:
            raise self._translate(exc, lease=None, write=False) from exc
        return [entry.get("Key", "") for page in pages for entry in page.get("Contents", [])]

    def _delete_object(self, name: str) -> None:
        key = self.key(name)
        self._call(
            lambda: self.client.delete_object(Bucket=self.bucket, Key=key),
            lease=name,
            write=True,
            budget=self.retry_budget,
        )

    # -- bucket -----------------------------------------------------------------------------

    def _ensure_bucket(self, create: bool) -> None:
        from cloudlease_s3._bucket import ensure_bucket

        ensure_bucket(self, create)

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
