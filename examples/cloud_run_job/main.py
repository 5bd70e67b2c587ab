"""A Cloud Run job whose singleton step runs in exactly one task per execution.

Every task of the execution calls ``refresh_report()``; one wins the execution's lease on
Firestore and does the work, fencing its write with the lease's token; the others skip. A
retried task runs the step again only if the execution's step did not complete.

Environment: ``CLOUDLEASE_STORE`` (e.g. ``firestore://my-project/cloudlease_leases``) plus what
Cloud Run sets (``CLOUD_RUN_JOB``, ``CLOUD_RUN_EXECUTION``, ``CLOUD_RUN_TASK_INDEX``, ...).
"""

from __future__ import annotations

import json
import os
import sys

from google.cloud import firestore

from cloudlease import cloud_run, current_lease, open_store

STORE = open_store()  # CLOUDLEASE_STORE


@cloud_run.job_singleton(store=STORE, ttl=60, task_timeout=600, skipped="skipped")
def refresh_report() -> str:
    """The work that must happen once per execution: write a report document, fenced."""
    lease = current_lease()
    client: firestore.Client = STORE.client  # type: ignore[attr-defined]
    report = client.collection("reports").document("daily")

    @firestore.transactional
    def write(transaction: firestore.Transaction) -> None:
        STORE.fence(transaction, lease)  # type: ignore[attr-defined]  # refuses a stale token
        transaction.set(
            report,
            {"execution": os.environ["CLOUD_RUN_EXECUTION"], "token": lease.token},
        )

    write(client.transaction())
    return "ran"


def main() -> int:
    result = refresh_report()
    print(json.dumps({"task": int(os.environ.get("CLOUD_RUN_TASK_INDEX", "0")), "result": result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
