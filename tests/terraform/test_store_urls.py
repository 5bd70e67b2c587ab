"""The store_url the Firestore and Azure Blob modules output, evaluated by terraform itself.

Their providers are not available offline, so the URL is built in ``store_url.tf`` from
variables alone: copying it with ``variables.tf`` gives a provider-free configuration that
terraform applies without ``init``. Its URLs are then opened with the providers' own parsers,
and its variable validations are exercised the same way.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from cloudlease_azure_blob import parse_url
from cloudlease_firestore import from_url as firestore_from_url
from tests.terraform.hcl import TERRAFORM
from tests.terraform.tf import Terraform


def _url_only(module: str, workdir: Path) -> Path:
    workdir.mkdir()
    for name in ("variables.tf", "store_url.tf"):
        shutil.copy(TERRAFORM / module / name, workdir / name)
    (workdir / "outputs.tf").write_text('output "store_url" {\n  value = local.store_url\n}\n')
    return workdir


def _store_url(tf: Terraform, variables: dict[str, str]) -> str:
    tf.apply(variables)
    url: str = tf.outputs()["store_url"]
    return url


@pytest.fixture
def firestore_urls(terraform: Callable[[str], Terraform], tmp_path: Path) -> Terraform:
    workdir = _url_only("firestore", tmp_path / "firestore_url")
    return terraform(str(workdir))  # absolute: replaces the workspace


@pytest.fixture
def azure_urls(terraform: Callable[[str], Terraform], tmp_path: Path) -> Terraform:
    workdir = _url_only("azure_blob", tmp_path / "azure_url")
    return terraform(str(workdir))  # absolute: replaces the workspace


def test_firestore_default_url_opens_the_default_database_and_collection(
    firestore_urls: Terraform,
) -> None:
    url = _store_url(firestore_urls, {"project": "my-project"})
    assert url == "firestore://my-project/cloudlease_leases"
    store = firestore_from_url(url)
    assert (store.project, store.collection, store.database) == (
        "my-project",
        "cloudlease_leases",
        "(default)",
    )


def test_firestore_url_carries_a_named_database_and_collection(firestore_urls: Terraform) -> None:
    url = _store_url(
        firestore_urls, {"project": "my-project", "database": "leases-db", "collection": "jobs"}
    )
    store = firestore_from_url(url)
    assert (store.project, store.collection, store.database) == ("my-project", "jobs", "leases-db")


def test_azure_url_names_the_created_account_and_container(azure_urls: Terraform) -> None:
    url = _store_url(
        azure_urls,
        {"storage_account_create_enabled": "true", "storage_account_name": "myappleases"},
    )
    assert url == "azblob://myappleases/cloudlease"
    location = parse_url(url)
    assert (location.account, location.container, location.prefix) == (
        "myappleases",
        "cloudlease",
        "cloudlease/",
    )


def test_azure_url_of_an_existing_account_carries_a_custom_prefix(azure_urls: Terraform) -> None:
    account_id = (
        "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
        "Microsoft.Storage/storageAccounts/existingacct"
    )
    url = _store_url(
        azure_urls,
        {"storage_account_id": account_id, "container_name": "jobs-leases", "prefix": "team-a/"},
    )
    location = parse_url(url)
    assert (location.account, location.container, location.prefix) == (
        "existingacct",
        "jobs-leases",
        "team-a/",
    )


@pytest.mark.parametrize(
    ("module", "variables", "complaint"),
    [
        ("firestore", {"project": "1-bad-project"}, "project id must be"),
        ("firestore", {"project": "my-project", "collection": "a/b"}, "collection id must be"),
        ("azure_blob", {"container_name": "Bad--Name"}, "container_name must be"),
        ("azure_blob", {"prefix": "has space"}, "prefix may hold"),
        ("azure_blob", {"principal_id": "not-a-guid"}, "principal_id must be"),
    ],
)
def test_bad_values_are_refused_before_anything_is_planned(
    module: str,
    variables: dict[str, str],
    complaint: str,
    terraform: Callable[[str], Terraform],
    tmp_path: Path,
) -> None:
    workdir = _url_only(module, tmp_path / "url")
    tf = terraform(str(workdir))  # absolute: replaces the workspace
    flags = [f"-var={key}={value}" for key, value in variables.items()]
    result = tf.run("plan", "-input=false", *flags, check=False)
    assert result.returncode != 0
    assert "Invalid value for variable" in result.stderr, result.stderr
    assert complaint in " ".join(result.stderr.split()), result.stderr
