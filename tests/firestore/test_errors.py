"""Errors name project, database and collection and say what to do; bad input sends nothing."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from cloudlease.errors import ConfigError, StoreMisconfigured
from cloudlease.urls import open_async_store, open_store
from cloudlease_firestore import IAM_ROLE, FirestoreStore, from_url
from tests.emulators import ROOT, free_port
from tests.firestore.conftest import PROJECT, Emulator, start_emulator
from tests.firestore.interceptors import Interceptor, intercepted_client
from tests.helpers import run_cli

Code = grpc.StatusCode


def assert_names_everything(error: Exception, collection: str, *words: str) -> None:
    text = str(error)
    for word in (PROJECT, "(default)", collection, *words):
        assert word in text, f"{word!r} missing from: {text}"


def test_permission_denied_names_the_iam_role(
    make_store: Any, interceptor: Interceptor, collection: str
) -> None:
    store = make_store()
    interceptor.fail(
        "BatchGetDocuments", Code.PERMISSION_DENIED, "Missing or insufficient permissions."
    )
    with pytest.raises(StoreMisconfigured) as caught:
        store.acquire("job", "a", 10)
    assert_names_everything(caught.value, collection, IAM_ROLE, "'job'")
    assert IAM_ROLE == "roles/datastore.user"


def test_missing_database_says_so_and_how_to_create_it(
    make_store: Any, interceptor: Interceptor, collection: str
) -> None:
    store = make_store()
    interceptor.fail(
        "BatchGetDocuments",
        Code.NOT_FOUND,
        f"The database (default) does not exist for project {PROJECT} Please visit "
        "https://console.cloud.google.com/datastore/setup to add a Cloud Datastore or "
        "Cloud Firestore database.",
    )
    with pytest.raises(StoreMisconfigured, match="does not exist") as caught:
        store.get("job")
    assert_names_everything(caught.value, collection, "gcloud firestore databases create")


@pytest.fixture(scope="module")
def datastore_mode_host(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second emulator whose database is in Datastore mode (started only for these tests)."""
    process, host = start_emulator(tmp_path_factory.mktemp("datastore"), "datastore-mode")
    try:
        yield host
    finally:
        process.stop()


def test_a_database_in_datastore_mode_is_refused_with_the_fix(
    emulator: Emulator, datastore_mode_host: str, collection: str
) -> None:
    client = intercepted_client(datastore_mode_host, PROJECT, Interceptor())
    store = FirestoreStore(PROJECT, collection, client=client)
    for operation in (store.init, lambda: store.acquire("job", "a", 10), store.records):
        with pytest.raises(StoreMisconfigured, match="Datastore mode") as caught:
            operation()
        assert_names_everything(caught.value, collection, "Firestore Native")


def _scrubbed_env(tmp_path: Path) -> dict[str, str]:
    """No credentials anywhere, and the metadata server looked for on a closed loopback port."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GOOGLE_", "GCLOUD_", "CLOUDSDK_", "FIRESTORE_", "GCE_"))
    }
    closed = f"127.0.0.1:{free_port()}"
    env.update(
        CLOUDSDK_CONFIG=str(tmp_path / "gcloud"),
        GCE_METADATA_HOST=closed,
        GCE_METADATA_IP=closed,
        GCE_METADATA_DETECT_RETRIES="1",
        PYTHONPATH=str(ROOT),
    )
    return env


def _status(url: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_cli("status", "--store", url, env=env)


def test_no_credentials_says_what_was_looked_for(tmp_path: Path) -> None:
    result = _status(f"firestore://{PROJECT}/leases", _scrubbed_env(tmp_path))
    assert result.returncode == 69, result.stderr
    for word in (
        "no Google credentials",
        "GOOGLE_APPLICATION_CREDENTIALS",
        "application-default login",
        "FIRESTORE_EMULATOR_HOST",
        PROJECT,
        "'leases'",
    ):
        assert word in result.stderr


def test_no_project_says_how_to_set_it(tmp_path: Path) -> None:
    # User credentials (as `gcloud auth application-default login` writes) carry no project.
    adc = tmp_path / "adc.json"
    adc.write_text(
        json.dumps(
            {
                "type": "authorized_user",
                "client_id": "test.apps.googleusercontent.com",
                "client_secret": "not-a-secret",
                "refresh_token": "not-a-token",
            }
        )
    )
    env = dict(_scrubbed_env(tmp_path), GOOGLE_APPLICATION_CREDENTIALS=str(adc))
    result = _status("firestore:///leases", env)
    assert result.returncode == 69, result.stderr
    assert "no Google Cloud project" in result.stderr
    assert (
        "GOOGLE_CLOUD_PROJECT" in result.stderr
        and "firestore://PROJECT/COLLECTION" in result.stderr
    )


# -- URLs and options, refused before any request -----------------------------------------


def test_url_forms_and_options() -> None:
    store = from_url("firestore://my-proj/leases?database=ops-db&timeout=2.5&max_attempts=5")
    assert (store.project, store.collection, store.database) == ("my-proj", "leases", "ops-db")
    assert (store.timeout, store.max_attempts) == (2.5, 5)
    assert store.url == "firestore://my-proj/leases?database=ops-db"
    assert from_url("firestore://my-proj").collection == "cloudlease_leases"
    assert from_url("firestore:///leases").project == ""
    assert isinstance(open_store("firestore://my-proj/leases"), FirestoreStore)


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("firestore://p/a/b", "cannot parse"),
        ("firestore://p/__leases__", "collection"),
        ("firestore://p/..", "collection"),
        ("firestore://p/leases?database=Bad_DB", "database"),
        ("firestore://p/leases?region=x", "unknown option"),
        ("firestore://p/leases?timeout=soon", "timeout"),
        ("firestore://p/leases?timeout=0", "timeout"),
        ("firestore://p/leases?max_attempts=0", "max_attempts"),
        ("firestore://bad project/leases", "project"),
    ],
)
@pytest.mark.parametrize("opener", [from_url, open_async_store], ids=["sync", "async"])
def test_bad_urls_are_refused_before_any_request(
    url: str, match: str, opener: Callable[[str], object]
) -> None:
    """On both sides: the async side (``open_async_store``) parses the same URLs."""
    with pytest.raises(ConfigError, match=match) as caught:
        opener(url)
    assert (
        caught.value.store == url or url in str(caught.value) or "firestore://" in str(caught.value)
    )


def test_init_checks_access_in_one_read_and_is_idempotent(
    make_store: Any, interceptor: Interceptor
) -> None:
    store = make_store()
    store.init()
    store.init()
    assert dict(interceptor.requests) == {"BatchGetDocuments": 2}
    assert store.records() == []
