"""What a cold start loads: the modules, not the milliseconds (benchmarks/import_time.py times
them). ``import cloudlease`` and ``from cloudlease import hold, open_store`` load none of the
standard library's costly modules, so the import budget cannot regress unnoticed; nothing
async loads for a sync user, and opening one of our stores by URL does not read every
installed distribution's metadata.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: Costly at a cold start (each several ms with what it pulls in), and not needed until used.
COSTLY = {
    "asyncio",
    "dataclasses",
    "datetime",
    "email",
    "importlib.metadata",
    "inspect",
    "json",
    "logging",
    "random",
    "re",
    "socket",
    "typing",
}


def loaded_by(statement: str, after: str = "pass") -> set[str]:
    """The modules a fresh interpreter loads for ``statement`` (on top of its own start-up and
    of what ``after`` loaded)."""
    probe = (
        f"{after}\nimport sys; before = set(sys.modules)\n"
        f"{statement}\n"
        "loaded = sorted(set(sys.modules) - before)\n"
        "import json; print(json.dumps(loaded))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize(
    "statement",
    ["import cloudlease", "from cloudlease import hold, open_store", "import cloudlease.store"],
)
def test_the_front_door_loads_nothing_costly(statement: str) -> None:
    costly = sorted(loaded_by(statement) & COSTLY)
    assert costly == [], f"{statement!r} loads {costly}: import them where they are used"


def test_import_cloudlease_loads_only_its_errors() -> None:
    ours = {name for name in loaded_by("import cloudlease") if name.startswith("cloudlease")}
    assert ours == {"cloudlease", "cloudlease.errors"}


def test_holding_a_lease_on_memory_loads_nothing_async_nor_metadata() -> None:
    loaded = loaded_by(
        "from cloudlease import hold, open_store\n"
        "with hold(open_store('memory://'), 'job', ttl=2):\n"
        "    pass"
    )
    assert not loaded & {"asyncio", "importlib.metadata", "dataclasses", "inspect", "typing"}


@pytest.mark.parametrize(
    ("sdk", "provider"),
    [
        ("import boto3", "cloudlease_dynamodb"),
        ("import boto3", "cloudlease_s3"),
        ("from google.cloud import firestore", "cloudlease_firestore"),
        ("from google.cloud import storage", "cloudlease_gcs"),
        ("from azure.storage.blob import BlobServiceClient", "cloudlease_azure_blob"),
    ],
)
def test_a_provider_adds_only_its_own_modules_to_its_sdk(sdk: str, provider: str) -> None:
    """What a provider costs a process that has its SDK loaded is cloudlease's own modules:
    nothing of the standard library or the SDK that the SDK itself did not load."""
    added = loaded_by(f"import {provider}", after=sdk)
    foreign = sorted(name for name in added if not name.startswith("cloudlease"))
    assert foreign == [], f"{provider} loads {foreign} on top of its SDK"


def test_the_object_stores_shared_code_loads_what_it_uses_when_used() -> None:
    """``random`` (backoff jitter) and ``urllib.parse`` (store URLs) load with the first store
    or URL, not with the object stores' shared code."""
    loaded = loaded_by("import cloudlease.stores.versioned")
    assert not loaded & {"random", "urllib.parse"}
