"""scripts/cloud_smoke.py on fake-gcs-server (STORAGE_EMULATOR_HOST): a bucket of its own, each
lease operation once with its requests, the bucket deleted at the end."""

from __future__ import annotations

import pytest

from tests.cloud_smoke_case import check_report, run_smoke
from tests.gcs.conftest import PROJECT, client

pytestmark = pytest.mark.emulator


def test_it_runs_each_operation_on_fake_gcs_and_deletes_its_bucket(fake_gcs: str) -> None:
    result = run_smoke("gcs", "--project", PROJECT)
    counts = check_report(result)
    assert counts["acquire (refused)"] == 1
    assert counts["renew"] == counts["release"] == counts["get"] == 1
    names = [bucket.name for bucket in client().list_buckets()]
    assert not [name for name in names if name.startswith("cloudlease-smoke-")]
