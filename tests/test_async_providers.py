"""Sync providers add nothing async to their SDK (they need the providers installed, so the
core-only runs of scripts/pythons.sh leave this module out)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.test_async import ASYNC_MODULES


@pytest.mark.parametrize(
    "code",
    ["import cloudlease_dynamodb.store", "import cloudlease_s3.store"],
)
def test_the_boto3_providers_load_no_asyncio(code: str) -> None:
    check = f"{code}\nimport sys\nprint(sorted(m for m in {ASYNC_MODULES!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


@pytest.mark.parametrize(
    ("sdk", "module"),
    [
        ("boto3", "cloudlease_dynamodb.store"),
        ("google.cloud.firestore", "cloudlease_firestore.store"),
        ("google.cloud.firestore", "cloudlease_firestore"),  # what open_store("firestore://") loads
        ("azure.storage.blob", "cloudlease_azure_blob.store"),
    ],
)
def test_sync_providers_add_nothing_async_to_their_sdk(sdk: str, module: str) -> None:
    """An SDK may load asyncio or aiohttp itself (azure-core, google-api-core do); the sync
    provider on top of it adds nothing async: no aiobotocore or async client, no async side
    of cloudlease."""
    check = (
        f"import sys, {sdk}\nbefore = set(sys.modules)\nimport {module}\n"
        f"print(sorted(m for m in {ASYNC_MODULES!r} if m in set(sys.modules) - before))"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout
