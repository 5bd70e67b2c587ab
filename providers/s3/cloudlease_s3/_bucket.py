"""``cloudlease init`` on S3: check the bucket and the prefix, create the bucket only if asked."""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from cloudlease.errors import StoreMisconfigured
from cloudlease.stores.objects import INIT_CHECK
from cloudlease.stores.versioned import Translate
from cloudlease_s3._errors import error_code, status_of


class Bucket(Protocol):
    """What ``init`` needs of the store: where it points, its client, its error translation."""

    bucket: str
    prefix: str
    client: Any
    _translate: Translate

    @property
    def url(self) -> str: ...

    @property
    def region(self) -> str | None: ...


def ensure_bucket(store: Bucket, create: bool) -> None:
    """HEAD the bucket (creating it when ``create`` and it is missing), then prove the prefix
    is writable by writing and deleting one object that is not a lease."""
    client, bucket = store.client, store.bucket
    try:
        client.head_bucket(Bucket=bucket)
    except ClientError as exc:
        missing = status_of(exc) == 404 or error_code(exc) in ("404", "NoSuchBucket", "NotFound")
        if not (missing and create):
            raise store._translate(exc, lease=None, write=False) from exc
        _create(store)
    except BotoCoreError as exc:
        raise store._translate(exc, lease=None, write=False) from exc
    key = store.prefix + INIT_CHECK
    try:
        client.put_object(Bucket=bucket, Key=key, Body=b"cloudlease init check\n")
    except (ClientError, BotoCoreError) as exc:
        error = store._translate(exc, lease=None, write=False)
        raise StoreMisconfigured(
            f"bucket {bucket!r} exists but the prefix {store.prefix!r} is not writable "
            f"({error.detail})",
            store=store.url,
        ) from exc
    try:
        client.delete_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if status_of(exc) != 403:  # without s3:DeleteObject the check object stays: harmless
            raise store._translate(exc, lease=None, write=False) from exc


def _create(store: Bucket) -> None:
    params: dict[str, Any] = {"Bucket": store.bucket}
    region = store.region
    if region and region != "us-east-1":
        params["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        store.client.create_bucket(**params)
    except ClientError as exc:
        if error_code(exc) != "BucketAlreadyOwnedByYou":
            raise store._translate(exc, lease=None, write=False) from exc
    try:
        store.client.put_public_access_block(
            Bucket=store.bucket,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
    except (ClientError, BotoCoreError) as exc:
        raise store._translate(exc, lease=None, write=False) from exc
