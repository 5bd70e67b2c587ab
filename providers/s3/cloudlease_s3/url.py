"""``s3://BUCKET/PREFIX?region=R&endpoint_url=URL&profile=P`` -> S3Store."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cloudlease.errors import ConfigError
from cloudlease_s3.store import S3Store

#: Query parameters the URL accepts (all optional; credentials come from the boto3 chain).
URL_OPTIONS = ("region", "endpoint_url", "profile", "create_bucket")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def from_url(url: str, **options: Any) -> S3Store:
    """Open ``s3://BUCKET/PREFIX?region=&endpoint_url=&profile=&create_bucket=``.

    The prefix defaults to ``cloudlease/``. ``options`` go to S3Store (client, session,
    config, clock, skew_allowance...).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "s3" or not parts.netloc or parts.fragment:
        raise ConfigError(
            f"cannot parse S3 store URL {url!r}: use 's3://BUCKET/PREFIX?region=REGION' "
            "(optional: endpoint_url, profile, create_bucket)",
            store=url,
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(URL_OPTIONS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} in S3 store URL {url!r}; known: "
            f"{', '.join(URL_OPTIONS)}",
            store=url,
        )
    given = {key: values[-1] for key, values in query.items()}
    empty = sorted(key for key, value in given.items() if not value)
    if empty:
        raise ConfigError(
            f"empty value for {', '.join(empty)} in {url!r}; give a value (e.g. "
            "?region=eu-west-1) or leave the option out",
            store=url,
        )
    endpoint = given.get("endpoint_url")
    if endpoint is not None and urlsplit(endpoint).scheme not in ("http", "https"):
        raise ConfigError(
            f"endpoint_url={endpoint!r} in {url!r} must start with http:// or https://",
            store=url,
        )
    if "create_bucket" in given:
        flag = given["create_bucket"].lower()
        if flag not in _TRUE | _FALSE:
            raise ConfigError(
                f"create_bucket={given['create_bucket']!r} in {url!r} must be true or false",
                store=url,
            )
        options.setdefault("create_bucket", flag in _TRUE)
    for key in ("region", "endpoint_url", "profile"):
        if key in given:
            options.setdefault(key, given[key])
    return S3Store(parts.netloc, unquote(parts.path), **options)
