"""``s3://BUCKET/PREFIX?region=R&endpoint_url=URL&profile=P`` -> S3Store."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from cloudlease.errors import ConfigError
from cloudlease.stores.objects import parse_bucket_url
from cloudlease_s3.store import S3Store

#: Query parameters the URL accepts (all optional; credentials come from the boto3 chain).
URL_OPTIONS = ("region", "endpoint_url", "profile", "create_bucket")


def from_url(url: str, **options: Any) -> S3Store:
    """Open ``s3://BUCKET/PREFIX?region=&endpoint_url=&profile=&create_bucket=``.

    The prefix defaults to ``cloudlease/``. ``options`` go to S3Store (client, session,
    config, clock, takeover_allowance, clock_skew_bound...).
    """
    parsed = parse_bucket_url(
        url,
        scheme="s3",
        service="S3",
        known=URL_OPTIONS,
        usage="'s3://BUCKET/PREFIX?region=REGION' (optional: endpoint_url, profile, create_bucket)",
        example="?region=eu-west-1",
    )
    given = parsed.options
    endpoint = given.get("endpoint_url")
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise ConfigError(
            f"endpoint_url={endpoint!r} in {url!r} must start with http:// or https://",
            store=url,
        )
    create = parsed.flag("create_bucket", url)
    if create is not None:
        options.setdefault("create_bucket", create)
    for key in ("region", "endpoint_url", "profile"):
        if key in given:
            options.setdefault(key, given[key])
    return S3Store(parsed.bucket, parsed.prefix, **options)
