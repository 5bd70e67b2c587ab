"""cloudlease store on Amazon S3: one JSON object per lease, each change one conditional PUT
(``If-None-Match: *`` to create, ``If-Match: ETAG`` to replace).

``open_store("s3://BUCKET/PREFIX?region=eu-west-1")``, or ``S3Store("BUCKET", "PREFIX/")``.
"""

from __future__ import annotations

from cloudlease.stores.objects import DEFAULT_PREFIX, INIT_CHECK, KIND, SCHEMA
from cloudlease_s3._errors import CONFLICT_CODE, IAM_ACTIONS, THROTTLING_CODES
from cloudlease_s3.store import S3State, S3Store
from cloudlease_s3.url import URL_OPTIONS, from_url

__version__ = "0.1.0"  # the one version source of this distribution (pyproject reads it)

__all__ = [
    "CONFLICT_CODE",
    "DEFAULT_PREFIX",
    "IAM_ACTIONS",
    "INIT_CHECK",
    "KIND",
    "SCHEMA",
    "THROTTLING_CODES",
    "URL_OPTIONS",
    "S3State",
    "S3Store",
    "from_url",
]
