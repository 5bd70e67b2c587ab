"""terraform/s3 applied against moto, then the store and the CLI on its bucket."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from cloudlease import cli
from cloudlease.testing import FakeClock
from cloudlease_s3 import from_url
from tests.terraform.conftest import (  # noqa: F401
    initialised,
    moto_endpoint,
    terraform,
    tf_env,
    tf_workspace,
)
from tests.terraform.tf import Terraform

pytestmark = pytest.mark.emulator


@pytest.fixture(scope="module")
def applied(
    initialised: Callable[[str], Terraform],  # noqa: F811
    moto_endpoint: str,  # noqa: F811
) -> Iterator[tuple[dict[str, Any], str]]:
    tf = initialised("_s3_moto")
    variables = {"endpoint": moto_endpoint, "name_prefix": f"tf{uuid.uuid4().hex[:8]}"}
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "test")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        patch.delenv("AWS_PROFILE", raising=False)
        tf.apply(variables)
        yield tf.outputs(), moto_endpoint
        tf.apply(variables, destroy=True)


def test_the_bucket_blocks_public_access_and_expires_idle_leases(
    applied: tuple[dict[str, Any], str],
) -> None:
    outputs, endpoint = applied
    leases = outputs["leases"]
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    bucket = leases["s3_bucket_name"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values())
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    expire = next(rule for rule in rules if rule["ID"] == "cloudlease-expire-idle-leases")
    assert expire["Expiration"]["Days"] == 30 and expire["Status"] == "Enabled"
    policy = json.loads(leases["iam_policy_json"])
    resources = [r for statement in policy["Statement"] for r in statement["Resource"]]
    assert f"arn:aws:s3:::{bucket}/leases/prod/*" in resources
    assert leases["iam_actions"] == [
        "s3:DeleteObject",
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
    ]
    assert outputs["disabled"]["store_url"] is None


def test_the_store_url_output_opens_a_working_store(
    applied: tuple[dict[str, Any], str], capsys: pytest.CaptureFixture[str]
) -> None:
    outputs, endpoint = applied
    url = f"{outputs['leases']['store_url']}&endpoint_url={endpoint}"
    assert url.startswith(f"s3://{outputs['leases']['s3_bucket_name']}/leases/prod/?region=")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AWS_ACCESS_KEY_ID", "test")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "test")
        assert cli.main(["init", "--store", url]) == 0
        store = from_url(url, clock=FakeClock())
        lease = store.acquire("job", "holder-a", 10)
        assert store.get("job") == lease.record
