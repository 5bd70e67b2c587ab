"""Bad input is refused before any request; store problems name account, container, blob, fix."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from azure.storage.blob import ContainerClient, ContainerSasPermissions, generate_container_sas

from cloudlease.errors import ConfigError, CorruptRecord, StoreMisconfigured
from cloudlease.testing.clock import FakeClock
from cloudlease.urls import open_store
from cloudlease_azure_blob import AzureBlobStore
from cloudlease_azure_blob._client import parse_url
from tests.azure_blob.azurite import ACCOUNT, KEY, Azurite, quick_retries
from tests.emulators import ROOT


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("azblobs://acct/leases", "scheme"),
        ("azblob://Bad_Account/leases", "storage account"),
        ("azblob://acct/", "container name"),
        ("azblob://acct/UPPER", "container name"),
        ("azblob://acct/a--b", "container name"),
        ("azblob://acct/leases?region=x", "unknown option"),
        ("azblob://acct/leases?endpoint=ftp://x", "http"),
        ("azblob://acct/leases?prefix=a b", "prefix"),
    ],
)
def test_bad_urls_are_refused(url: str, why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        parse_url(url)


def test_url_round_trips_and_the_store_opens_through_its_entry_point(
    azurite: Azurite, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    store = open_store(f"azblob://{ACCOUNT}/{container}?prefix=team-a/")
    assert isinstance(store, AzureBlobStore)
    assert store.url == f"azblob://{ACCOUNT}/{container}?prefix=team-a/"
    lease = store.acquire("job", "a", 15)
    assert store.blobs.name_of("job") == "team-a/job"
    assert [record.name for record in store.records()] == ["job"]
    store.release(lease)
    with pytest.raises(ConfigError, match="account"):
        open_store(f"azblob://otheraccount/{container}")


def test_default_azure_credential_is_imported_only_without_a_connection_string() -> None:
    script = (
        "import sys\n"
        "from cloudlease_azure_blob import from_url\n"
        "assert 'azure.identity' not in sys.modules\n"
        "store = from_url('azblob://acct123/leases?endpoint=https://example.invalid/acct123')\n"
        "assert 'azure.identity' in sys.modules\n"
        "print(store.container_client.url)\n"
        "print(from_url('azblob://acct123/leases').container_client.url)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "AZURE_STORAGE_CONNECTION_STRING"}
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "https://example.invalid/acct123/leases",
        "https://acct123.blob.core.windows.net/leases",
    ]


def test_ttl_below_azures_minimum_is_refused_before_any_request(
    azurite: Azurite, container: str
) -> None:
    store, wire = azurite.store(container)
    with pytest.raises(ConfigError, match="Azure blob leases last 15-60 s"):
        store.acquire("job", "a", 10)
    with pytest.raises(ConfigError, match="maximum"):
        store.acquire("job", "a", 121)
    assert wire.total() == 0


def test_ttl_maps_to_a_whole_second_blob_lease_and_never_past_60s(
    azurite: Azurite, container: str
) -> None:
    clock = FakeClock()
    store, _ = azurite.store(container, clock=clock)
    short = store.acquire("short", "a", 15.9)
    assert short.ttl == 15 and short.expires_at == clock.wall_ms() + 15_000
    long = store.acquire("long", "a", 90)
    assert long.ttl == 60 and long.expires_at == clock.wall_ms() + 60_000
    assert long.deadline == pytest.approx(clock.monotonic() + 60)  # the grant, before any margin
    props = store.blob("long").get_blob_properties()
    assert props.metadata["lease_seconds"] == "60" and props.lease.duration == "fixed"
    with pytest.raises(ConfigError, match="duration it was acquired with"):
        store.renew(short, 30)
    assert store.renew(long).ttl == 60
    capped = store.renew(long, 20)  # shorter is safe: the holder stops first
    assert capped.ttl == 20 and capped.deadline < long.deadline


def test_missing_container_names_account_container_blob_and_init(azurite: Azurite) -> None:
    store, _ = azurite.store("never" + uuid.uuid4().hex[:8])
    with pytest.raises(StoreMisconfigured) as caught:
        store.acquire("job", "a", 15)
    text = str(caught.value)
    assert ACCOUNT in text and store.location.container in text and "cloudlease/job" in text
    assert "cloudlease init" in text
    store.init()
    store.init()  # idempotent
    assert store.acquire("job", "a", 15).holder == "a"


def test_wrong_key_is_an_authentication_error(azurite: Azurite, container: str) -> None:
    wrong = azurite.connection_string.replace(KEY, "A" * 86 + "==")
    client = ContainerClient.from_connection_string(wrong, container, retry_policy=quick_retries())
    store = AzureBlobStore(azurite.url(container), container_client=client)
    with pytest.raises(StoreMisconfigured, match="authentication failed") as caught:
        store.acquire("job", "a", 15)
    assert container in str(caught.value) and "cloudlease/job" in str(caught.value)


def test_read_only_identity_is_told_the_role_it_needs(azurite: Azurite, container: str) -> None:
    sas = generate_container_sas(
        ACCOUNT,
        container,
        account_key=KEY,
        permission=ContainerSasPermissions(read=True, list=True),
        expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )
    client = ContainerClient(azurite.endpoint, container, credential=sas)
    store = AzureBlobStore(azurite.url(container), container_client=client)
    with pytest.raises(StoreMisconfigured, match="Storage Blob Data Contributor") as caught:
        store.acquire("job", "a", 15)
    assert "cloudlease/job" in str(caught.value)


def test_a_blob_that_is_not_a_lease_blob_is_refused(azurite: Azurite, container: str) -> None:
    store, _ = azurite.store(container)
    store.blob("job").upload_blob(b"someone's data")
    with pytest.raises(StoreMisconfigured, match="not a cloudlease lease blob") as caught:
        store.acquire("job", "a", 15)
    assert "cloudlease/job" in str(caught.value) and "prefix" in str(caught.value)
    assert store.blob("job").download_blob().readall() == b"someone's data"
    assert store.records() == []  # listing skips it
    store.blob("odd").upload_blob(b"", metadata={"cloudlease": "1", "token": "x1"})
    with pytest.raises(CorruptRecord, match="cloudlease/odd"):
        store.get("odd")


def test_injected_client_must_match_the_url(azurite: Azurite, container: str) -> None:
    client = azurite.container_client(container)
    with pytest.raises(ConfigError, match="injected ContainerClient"):
        AzureBlobStore(azurite.url("othercontainer"), container_client=client)
