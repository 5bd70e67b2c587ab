"""scripts/cloud_smoke.py on the Firestore emulator (FIRESTORE_EMULATOR_HOST): a collection of
its own, each lease operation once with its requests, its documents deleted at the end."""

from __future__ import annotations

import pytest

from tests.cloud_smoke_case import check_report, run_smoke
from tests.firestore.conftest import Emulator

pytestmark = pytest.mark.emulator


def test_it_runs_each_operation_on_the_emulator_and_deletes_its_documents(
    emulator: Emulator,
) -> None:
    from google.cloud import firestore

    result = run_smoke("firestore", "--project", emulator.project)
    counts = check_report(result)
    assert counts["acquire (first)"] == 2 and counts["acquire (refused)"] == 1
    assert counts["renew"] == counts["release"] == counts["get"] == 1
    client = firestore.Client(project=emulator.project)
    assert not [c.id for c in client.collections() if c.id.startswith("cloudlease_smoke_")]
