"""``gs://BUCKET/PREFIX?project=P`` -> GCSStore."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cloudlease.errors import ConfigError
from cloudlease_gcs.store import GCSStore

#: Query parameters the URL accepts (all optional; credentials are Application Default).
URL_OPTIONS = ("project", "create_bucket")
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


def from_url(url: str, **options: Any) -> GCSStore:
    """Open ``gs://BUCKET/PREFIX?project=&create_bucket=``.

    The prefix defaults to ``cloudlease/``. ``options`` go to GCSStore (client, credentials,
    clock, skew_allowance...).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "gs" or not parts.netloc or parts.fragment:
        raise ConfigError(
            f"cannot parse Cloud Storage store URL {url!r}: use 'gs://BUCKET/PREFIX' "
            "(optional: ?project=PROJECT, ?create_bucket=true)",
            store=url,
        )
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - set(URL_OPTIONS))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {', '.join(unknown)} in Cloud Storage store URL {url!r}; "
            f"known: {', '.join(URL_OPTIONS)}",
            store=url,
        )
    given = {key: values[-1] for key, values in query.items()}
    empty = sorted(key for key, value in given.items() if not value)
    if empty:
        raise ConfigError(
            f"empty value for {', '.join(empty)} in {url!r}; give a value (e.g. "
            "?project=my-project) or leave the option out",
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
    if "project" in given:
        options.setdefault("project", given["project"])
    return GCSStore(parts.netloc, unquote(parts.path), **options)
