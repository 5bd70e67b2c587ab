"""``gs://BUCKET/PREFIX?project=P`` -> GCSStore."""

from __future__ import annotations

from typing import Any

from cloudlease.stores.objects import parse_bucket_url
from cloudlease_gcs.store import GCSStore

#: Query parameters the URL accepts (all optional; credentials are Application Default).
URL_OPTIONS = ("project", "create_bucket")


def from_url(url: str, **options: Any) -> GCSStore:
    """Open ``gs://BUCKET/PREFIX?project=&create_bucket=``.

    The prefix defaults to ``cloudlease/``. ``options`` go to GCSStore (client, credentials,
    clock, takeover_allowance, clock_skew_bound...).
    """
    parsed = parse_bucket_url(
        url,
        scheme="gs",
        service="Cloud Storage",
        known=URL_OPTIONS,
        usage="'gs://BUCKET/PREFIX' (optional: ?project=PROJECT, ?create_bucket=true)",
        example="?project=my-project",
    )
    create = parsed.flag("create_bucket", url)
    if create is not None:
        options.setdefault("create_bucket", create)
    if "project" in parsed.options:
        options.setdefault("project", parsed.options["project"])
    return GCSStore(parsed.bucket, parsed.prefix, **options)
