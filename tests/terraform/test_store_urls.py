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


def _opened(module: str, url: str) -> tuple[str, str, str]:
    """Where the provider's own parser says ``url`` leads: Firestore's project, collection and
    database; Azure's account, container and prefix."""
    if module == "firestore":
        store = firestore_from_url(url)
        return (store.project, store.collection, store.database)
    location = parse_url(url)
    return (location.account, location.container, location.prefix)


EXISTING_ACCOUNT = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/"
    "Microsoft.Storage/storageAccounts/existingacct"
)


@pytest.mark.parametrize(
    ("module", "variables", "expected_url", "opened"),
    [
        pytest.param(
            "firestore",
            {"project": "my-project"},
            "firestore://my-project/cloudlease_leases",
            ("my-project", "cloudlease_leases", "(default)"),
            id="firestore-default-database-and-collection",
        ),
        pytest.param(
            "firestore",
            {"project": "my-project", "database": "leases-db", "collection": "jobs"},
            None,
            ("my-project", "jobs", "leases-db"),
            id="firestore-named-database-and-collection",
        ),
        pytest.param(
            "azure_blob",
            {"storage_account_create_enabled": "true", "storage_account_name": "myappleases"},
            "azblob://myappleases/cloudlease",
            ("myappleases", "cloudlease", "cloudlease/"),
            id="azure-created-account-and-container",
        ),
        pytest.param(
            "azure_blob",
            {
                "storage_account_id": EXISTING_ACCOUNT,
                "container_name": "jobs-leases",
                "prefix": "team-a/",
            },
            None,
            ("existingacct", "jobs-leases", "team-a/"),
            id="azure-existing-account-custom-prefix",
        ),
    ],
)
def test_the_output_url_opens_where_the_variables_say(
    module: str,
    variables: dict[str, str],
    expected_url: str | None,
    opened: tuple[str, str, str],
    terraform: Callable[[str], Terraform],
    tmp_path: Path,
) -> None:
    tf = terraform(str(_url_only(module, tmp_path / "url")))  # absolute: replaces the workspace
    tf.apply(variables)
    url: str = tf.outputs()["store_url"]
    if expected_url is not None:
        assert url == expected_url
    assert _opened(module, url) == opened


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
