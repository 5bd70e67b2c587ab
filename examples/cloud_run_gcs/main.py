"""A Cloud Run job whose singleton step runs in exactly one task per execution, with its
lease on Cloud Storage.

No database to provision: the lease is one small JSON object in a bucket
(``gs://BUCKET/PREFIX``), changed by uploads with a generation precondition. Every task of the
execution calls ``refresh_report()``; one wins the execution's lease and does the work, fencing
its write with the lease's token (``upload_fenced``); the others skip. A retried task runs the
step again only if the execution's step did not complete.

Environment: ``CLOUDLEASE_STORE`` (``gs://BUCKET/leases/``), ``REPORT_BUCKET`` (default: the
lease bucket), plus what Cloud Run sets (``CLOUD_RUN_JOB``, ``CLOUD_RUN_EXECUTION``,
``CLOUD_RUN_TASK_INDEX``, ...).
"""

from __future__ import annotations

import json
import os
import sys
from urllib.parse import urlsplit

from google.api_core.exceptions import NotFound, PreconditionFailed
from google.cloud.storage import Client

from cloudlease import cloud_run, current_lease

STORE = os.environ.get("CLOUDLEASE_STORE", "gs://my-leases/leases/")
REPORT_BUCKET = os.environ.get("REPORT_BUCKET") or urlsplit(STORE).netloc


@cloud_run.job_singleton(store=STORE, ttl=60, task_timeout=600, skipped="skipped")
def refresh_report() -> str:
    """The work that must happen once per execution: write the report object, fenced."""
    lease = current_lease()
    report = {"execution": os.environ["CLOUD_RUN_EXECUTION"], "token": lease.token}
    return "ran" if upload_fenced("reports/daily.json", report, lease.token) else "fenced"


def upload_fenced(name: str, body: dict[str, object], token: int) -> bool:
    """Upload ``body`` unless the object already holds a greater fencing token.

    One read and one upload with ``ifGenerationMatch`` (the generation read, or 0 when there is
    none): an upload that lands between the two is refused with 412, never lost.
    """
    blob = Client().bucket(REPORT_BUCKET).blob(name)
    try:
        current = json.loads(blob.download_as_bytes())
    except NotFound:
        current = {}
    if int(current.get("token", -1)) > token:
        return False  # a newer holder wrote already: this task's lease is stale
    try:
        blob.upload_from_string(json.dumps(body), if_generation_match=blob.generation or 0)
    except PreconditionFailed:
        return False  # someone wrote since the read: let the next execution decide
    return True


def main() -> int:
    result = refresh_report()
    print(json.dumps({"task": int(os.environ.get("CLOUD_RUN_TASK_INDEX", "0")), "result": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
