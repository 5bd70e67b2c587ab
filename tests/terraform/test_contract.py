"""The modules provision exactly what the stores expect: key, attribute names, TTL field, roles.

The expected values are imported from the providers, so the two cannot drift apart.
"""

from __future__ import annotations

from cloudlease_azure_blob import DEFAULT_PREFIX as AZURE_DEFAULT_PREFIX
from cloudlease_azure_blob import IAM_ROLE as AZURE_ROLE
from cloudlease_dynamodb import (
    DEFAULT_PARTITION_KEY,
    DEFAULT_TTL_ATTRIBUTE,
    IAM_ACTIONS,
    INIT_IAM_ACTIONS,
    AttributeNames,
)
from cloudlease_firestore import DEFAULT_COLLECTION, DEFAULT_DATABASE, IAM_ROLE, TTL_FIELD
from tests.terraform.hcl import Module


def test_dynamodb_key_and_ttl_attribute_are_the_store_defaults() -> None:
    module = Module.read("dynamodb")
    assert module.variables["partition_key"]["default"] == DEFAULT_PARTITION_KEY
    assert module.variables["ttl_attribute"]["default"] == DEFAULT_TTL_ATTRIBUTE
    assert AttributeNames().key == DEFAULT_PARTITION_KEY
    assert AttributeNames().ttl == DEFAULT_TTL_ATTRIBUTE
    table = module.resource("aws_dynamodb_table")
    assert table["hash_key"] == "${var.partition_key}"
    assert table["attribute"] == [{"name": "${var.partition_key}", "type": "S"}]
    assert table["ttl"][0]["attribute_name"] == '${var.ttl_enabled ? var.ttl_attribute : ""}'
    assert table["billing_mode"] == "${var.billing_mode}"
    assert module.variables["billing_mode"]["default"] == "PAY_PER_REQUEST"


def test_dynamodb_url_omits_only_the_store_default_attribute_names() -> None:
    url_options = Module.read("dynamodb").locals["url_options"]
    assert f'var.partition_key == "{DEFAULT_PARTITION_KEY}"' in url_options
    assert f'var.ttl_attribute == "{DEFAULT_TTL_ATTRIBUTE}"' in url_options


def test_dynamodb_policy_actions_are_the_store_actions() -> None:
    declared = Module.read("dynamodb").locals
    granted = [*declared["item_actions"], *declared["list_actions"]]
    assert sorted(granted) == sorted(IAM_ACTIONS)
    assert sorted(declared["init_actions"]) == sorted(INIT_IAM_ACTIONS)


def test_firestore_ttl_policy_is_on_the_store_cleanup_field() -> None:
    module = Module.read("firestore")
    assert module.locals["ttl_field"] == TTL_FIELD
    field = module.resource("google_firestore_field")
    assert field["field"] == "${local.ttl_field}"
    assert field["collection"] == "${var.collection}"
    assert field["ttl_config"] == [{}]
    assert module.variables["collection"]["default"] == DEFAULT_COLLECTION
    assert module.variables["database"]["default"] == DEFAULT_DATABASE


def test_firestore_grants_the_store_role_and_creates_native_mode_databases() -> None:
    module = Module.read("firestore")
    assert module.locals["iam_role"] == IAM_ROLE
    assert module.resource("google_project_iam_member")["role"] == "${local.iam_role}"
    assert module.resource("google_firestore_database")["type"] == "FIRESTORE_NATIVE"
    assert f'var.database == "{DEFAULT_DATABASE}"' in module.locals["store_url_query"]


def test_azure_blob_grants_the_store_role_on_the_container_only() -> None:
    module = Module.read("azure_blob")
    assert module.locals["role_definition_name"] == AZURE_ROLE
    assignment = module.resource("azurerm_role_assignment")
    assert assignment["role_definition_name"] == "${local.role_definition_name}"
    assert assignment["scope"] == "${local.container_scope}"
    assert module.locals["container_scope"].endswith(
        "/blobServices/default/containers/${var.container_name}"
    )
    assert module.variables["prefix"]["default"] == AZURE_DEFAULT_PREFIX
    assert f'var.prefix == "{AZURE_DEFAULT_PREFIX}"' in module.locals["store_url"]


def test_azure_storage_account_is_tls12_https_only_and_never_public() -> None:
    account = Module.read("azure_blob").resource("azurerm_storage_account")
    assert account["min_tls_version"] == "TLS1_2"
    assert account["https_traffic_only_enabled"] is True
    assert account["allow_nested_items_to_be_public"] is False
    container = Module.read("azure_blob").resource("azurerm_storage_container")
    assert container["container_access_type"] == "private"


def test_examples_use_the_modules_and_hand_them_their_principal() -> None:
    lambda_ = Module.read("examples/lambda_scheduled")
    assert lambda_.modules["leases"]["source"] == "../../dynamodb"
    function = lambda_.resource("aws_lambda_function")
    assert function["handler"] == "handler.handler"
    assert function["filename"] == "${var.lambda_zip_path}"
    assert "module.leases.store_url" in str(function["environment"])
    assert lambda_.resources["aws_iam_role_policy"]["leases"]["policy"] == (
        "${module.leases.iam_policy_json}"
    )
    run_job = Module.read("examples/cloud_run_job")
    assert run_job.modules["leases"]["source"] == "../../firestore"
    assert run_job.modules["leases"]["iam_member_enabled"] is True
    assert "google_service_account.job.email" in run_job.modules["leases"]["service_account_email"]
    assert "google_cloud_scheduler_job" in run_job.resources
    function_app = Module.read("examples/azure_function")
    assert function_app.modules["leases"]["source"] == "../../azure_blob"
    assert function_app.modules["leases"]["role_assignment_enabled"] is True
    assert "identity[0].principal_id" in function_app.modules["leases"]["principal_id"]
