"""terraform/gcs without the google provider (not on this machine): fmt, the configuration as
loaded by python-hcl2, and checkov (run over the whole tree by tests/terraform/test_checkov.py)."""

from __future__ import annotations

import re
import subprocess

import pytest

from cloudlease_gcs import IAM_ROLE
from cloudlease_gcs._record import DEFAULT_PREFIX
from tests.terraform.hcl import TERRAFORM, Module
from tests.terraform.tf import terraform_binary


def test_fmt_check_passes() -> None:
    result = subprocess.run(
        [terraform_binary(), "fmt", "-check", "-recursive", str(TERRAFORM / "gcs")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_bucket_is_private_and_expires_only_idle_lease_objects() -> None:
    module = Module.read("gcs")
    bucket = module.resources["google_storage_bucket"]["this"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    rule = bucket["dynamic"][0]["lifecycle_rule"]["content"][0]
    assert rule["action"][0]["type"] == "Delete"
    assert rule["condition"][0]["age"] == "${var.lifecycle_expiration_days}"
    assert module.variables["lifecycle_expiration_days"]["default"] == 30
    assert module.variables["prefix"]["default"] == DEFAULT_PREFIX


def test_members_get_the_stores_role_limited_to_the_prefix() -> None:
    module = Module.read("gcs")
    binding = module.resources["google_storage_bucket_iam_member"]["this"]
    assert "local.iam_role" in binding["role"]
    assert IAM_ROLE in (TERRAFORM / "gcs" / "main.tf").read_text()
    expression = binding["condition"][0]["expression"]
    assert "objects/${var.prefix}" in expression and "startsWith" in expression


@pytest.mark.parametrize(
    ("variable", "good", "bad"),
    [
        ("bucket", "acme-leases", "Goog_leases"),
        ("prefix", "leases/prod/", "has space/"),
        ("project", "acme-prod", "1bad"),
    ],
)
def test_validations_accept_what_the_store_accepts(variable: str, good: str, bad: str) -> None:
    validation = Module.read("gcs").variables[variable]["validation"][0]["condition"]
    pattern = re.search(r'regex\("(.+?)", var\.', validation)
    assert pattern is not None
    regex = pattern.group(1).replace("\\\\", "\\")
    assert re.fullmatch(regex, good) and not re.fullmatch(regex, bad)
