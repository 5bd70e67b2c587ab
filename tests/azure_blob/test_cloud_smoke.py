"""scripts/cloud_smoke.py on Azurite (its connection string in the environment): a container of
its own, each lease operation once with its requests, the container deleted at the end."""

from __future__ import annotations

import pytest

from tests.azure_blob.azurite import ACCOUNT, Azurite
from tests.cloud_smoke_case import check_report, run_smoke

pytestmark = pytest.mark.emulator


def test_it_runs_each_operation_on_azurite_and_deletes_its_container(azurite: Azurite) -> None:
    result = run_smoke(
        "azure", "--account", ACCOUNT, AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string
    )
    counts = check_report(result)
    assert counts["renew"] == counts["get"] == 1 and counts["release"] == 2
    assert counts["acquire (refused)"] == 1
    with azurite.service() as service:
        names = [c.name for c in service.list_containers()]
    assert not [name for name in names if name.startswith("cloudlease-smoke-")]
