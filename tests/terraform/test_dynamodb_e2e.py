"""End to end: terraform/dynamodb applied against moto, then the store and the CLI on its table.

One apply per session (the test root module ``roots/dynamodb_moto`` instantiates the module
three ways), the checks, then ``terraform destroy`` as the last test of this file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from cloudlease.errors import LeaseHeld
from cloudlease.testing import FakeClock
from cloudlease_dynamodb import IAM_ACTIONS, INIT_IAM_ACTIONS, from_url
from tests.helpers import run_cli
from tests.terraform.tf import Terraform

pytestmark = pytest.mark.emulator

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


@dataclass
class Applied:
    tf: Terraform
    variables: dict[str, str]
    outputs: dict[str, Any]
    endpoint: str
    destroyed: bool = False

    def client(self) -> Any:
        return boto3.client(
            "dynamodb",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )

    def url(self, instance: str) -> str:
        """The module's store_url, pointed at moto."""
        return f"{self.outputs[instance]['store_url']}&endpoint_url={self.endpoint}"


@pytest.fixture(scope="module")
def applied(initialised: Callable[[str], Terraform], moto_endpoint: str) -> Iterator[Applied]:
    tf = initialised("_dynamodb_moto")
    variables = {"endpoint": moto_endpoint, "name_prefix": f"tf{uuid.uuid4().hex[:8]}"}
    tf.apply(variables)
    state = Applied(tf, variables, tf.outputs(), moto_endpoint)
    yield state
    if not state.destroyed:
        tf.apply(variables, destroy=True)


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_table_has_the_shape_the_store_expects(applied: Applied) -> None:
    client = applied.client()
    name = applied.outputs["leases"]["dynamodb_table_name"]
    table = client.describe_table(TableName=name)["Table"]
    assert table["KeySchema"] == [{"AttributeName": "name", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "name", "AttributeType": "S"}]
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["DeletionProtectionEnabled"] is False
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "purge_at"}
    backups = client.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    tags = client.list_tags_of_resource(ResourceArn=table["TableArn"])["Tags"]
    assert tags == [{"Key": "purpose", "Value": "cloudlease-test"}]
    assert applied.outputs["leases"]["dynamodb_table_arn"] == table["TableArn"]
    assert applied.outputs["leases"]["store_url"] == f"dynamodb://{name}?region={REGION}"


def test_a_renamed_ttl_attribute_is_enabled_and_carried_in_the_url(applied: Applied) -> None:
    name = applied.outputs["restricted"]["dynamodb_table_name"]
    ttl = applied.client().describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expire_after"
    assert applied.outputs["restricted"]["store_url"].endswith("&ttl_attribute=expire_after")


def test_create_false_creates_nothing_and_outputs_null(applied: Applied) -> None:
    assert applied.outputs["disabled"] == {
        "dynamodb_table_arn": None,
        "dynamodb_table_name": None,
        "iam_actions": [],
        "iam_policy_json": None,
        "store_url": None,
    }
    prefix = applied.variables["name_prefix"]
    tables = [t for t in applied.client().list_tables()["TableNames"] if t.startswith(prefix)]
    assert sorted(tables) == [f"{prefix}-leases", f"{prefix}-restricted"]


def _actions(policy: dict[str, Any]) -> list[str]:
    return sorted(action for statement in policy["Statement"] for action in statement["Action"])


def test_policy_grants_exactly_the_store_actions_on_this_table(applied: Applied) -> None:
    outputs = applied.outputs["leases"]
    policy = json.loads(outputs["iam_policy_json"])
    assert _actions(policy) == sorted(IAM_ACTIONS)
    assert outputs["iam_actions"] == sorted(IAM_ACTIONS)
    assert {s["Resource"] for s in policy["Statement"]} == {outputs["dynamodb_table_arn"]}
    assert all(s["Effect"] == "Allow" and "Condition" not in s for s in policy["Statement"])


def test_restricted_policy_adds_init_actions_and_leading_keys(applied: Applied) -> None:
    outputs = applied.outputs["restricted"]
    policy = json.loads(outputs["iam_policy_json"])
    assert _actions(policy) == sorted([*IAM_ACTIONS, *INIT_IAM_ACTIONS])
    (items,) = [s for s in policy["Statement"] if "dynamodb:UpdateItem" in s["Action"]]
    assert items["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["jobs-*", "nightly.*"]},
        "Null": {"dynamodb:LeadingKeys": "false"},
    }
    unconditioned = {a for s in policy["Statement"] if "Condition" not in s for a in s["Action"]}
    assert unconditioned == {"dynamodb:Scan", *INIT_IAM_ACTIONS}


def test_the_store_takes_leases_on_the_table_terraform_created(applied: Applied) -> None:
    clock = FakeClock()
    store = from_url(applied.url("leases"), clock=clock)
    first = store.acquire("nightly-report", "worker-a", ttl=30)
    with pytest.raises(LeaseHeld) as held:
        store.acquire("nightly-report", "worker-b", ttl=30)
    assert held.value.record is not None and held.value.record.holder == "worker-a"
    clock.advance(10)
    renewed = store.renew(first)
    assert renewed.token == first.token and renewed.expires_at > first.expires_at
    assert store.release(renewed) is True
    second = store.acquire("nightly-report", "worker-b", ttl=30)
    assert second.token > first.token
    record = store.get("nightly-report")
    assert record is not None and record.holder == "worker-b"
    store.close()


def test_the_store_writes_the_renamed_ttl_attribute(applied: Applied) -> None:
    store = from_url(applied.url("restricted"), clock=FakeClock())
    store.acquire("jobs-sync", "worker-a", ttl=30)
    store.close()
    name = applied.outputs["restricted"]["dynamodb_table_name"]
    item = applied.client().get_item(
        TableName=name, Key={"name": {"S": "jobs-sync"}}, ConsistentRead=True
    )["Item"]
    assert "expire_after" in item and "purge_at" not in item


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **CREDENTIALS, AWS_DEFAULT_REGION=REGION)
    return run_cli(*args, env=env, timeout=120)


def test_cli_run_and_status_on_the_created_table(applied: Applied) -> None:
    url = applied.url("leases")
    ran = _cli("run", "--store", url, "--lease", "cli-job", "--", sys.executable, "-c", "pass")
    assert ran.returncode == 0, ran.stderr
    status = _cli("status", "--store", url, "--json")
    assert status.returncode == 0, status.stderr
    records = {record["name"]: record for record in json.loads(status.stdout)}
    assert "cli-job" in records
    assert records["cli-job"]["holder"] is None  # released when the command finished
    assert records["cli-job"]["token"] > 0


def test_terraform_destroy_removes_every_table(applied: Applied) -> None:
    applied.tf.apply(applied.variables, destroy=True)
    applied.destroyed = True
    prefix = applied.variables["name_prefix"]
    assert not [t for t in applied.client().list_tables()["TableNames"] if t.startswith(prefix)]
