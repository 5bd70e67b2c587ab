"""cloudlease store on Google Cloud Storage: one JSON object per lease, each change one upload
with a generation precondition (``ifGenerationMatch``).

``open_store("gs://BUCKET/PREFIX")``, or ``GCSStore("BUCKET", "PREFIX/")``.
"""

from __future__ import annotations

from cloudlease.stores.objects import DEFAULT_PREFIX, INIT_CHECK, KIND, SCHEMA
from cloudlease_gcs._errors import IAM_ROLE
from cloudlease_gcs.store import EMULATOR_ENV, GCSState, GCSStore
from cloudlease_gcs.url import URL_OPTIONS, from_url

__version__ = "0.1.0"  # the one version source of this distribution (pyproject reads it)

__all__ = [
    "DEFAULT_PREFIX",
    "EMULATOR_ENV",
    "IAM_ROLE",
    "INIT_CHECK",
    "KIND",
    "SCHEMA",
    "URL_OPTIONS",
    "GCSState",
    "GCSStore",
    "from_url",
]
