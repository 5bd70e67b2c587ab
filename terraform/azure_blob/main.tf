locals {
  # The role the store needs on its container (cloudlease_azure_blob: create blobs, take,
  # renew and break blob leases, write metadata).
  role_definition_name = "Storage Blob Data Contributor"

  storage_account_id = var.storage_account_create_enabled ? try(azurerm_storage_account.this[0].id, null) : var.storage_account_id
  # ARM scope of the container: the role assignment covers this container only.
  container_scope = "${coalesce(local.storage_account_id, "-")}/blobServices/default/containers/${var.container_name}"
}

resource "azurerm_storage_account" "this" {
  #checkov:skip=CKV_AZURE_33:Queue service logging does not apply: cloudlease uses blobs only, and the account has no queues.
  #checkov:skip=CKV_AZURE_59:Public network access is the caller's choice (private endpoints, VNets); no anonymous access, no shared keys by default, Entra ID only.
  #checkov:skip=CKV2_AZURE_33:A private endpoint depends on the caller's network; add one next to this module.
  #checkov:skip=CKV2_AZURE_1:Lease records hold no secrets; Microsoft-managed keys encrypt them at rest. Bring a customer key with azurerm_storage_account_customer_managed_key if policy demands it.
  #checkov:skip=CKV_AZURE_206:Replication is a variable (account_replication_type, default ZRS); lease records are short-lived and rebuilt by the next acquisition.
  count = var.create && var.storage_account_create_enabled ? 1 : 0

  name                     = var.storage_account_name
  resource_group_name      = var.resource_group_name
  location                 = var.location
  account_kind             = "StorageV2"
  account_tier             = "Standard"
  account_replication_type = var.account_replication_type

  min_tls_version                 = "TLS1_2"
  https_traffic_only_enabled      = true
  allow_nested_items_to_be_public = false
  shared_access_key_enabled       = var.shared_access_key_enabled
  default_to_oauth_authentication = true

  blob_properties {
    delete_retention_policy {
      days = var.blob_soft_delete_retention_days
    }
    container_delete_retention_policy {
      days = var.blob_soft_delete_retention_days
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.storage_account_name != null && var.resource_group_name != null && var.location != null
      error_message = "Set storage_account_name, resource_group_name and location when storage_account_create_enabled is true."
    }
  }
}

resource "azurerm_storage_container" "this" {
  #checkov:skip=CKV2_AZURE_21:Blob read logging is a diagnostic setting of the account, chosen by the caller (Log Analytics workspace or storage).
  count = var.create ? 1 : 0

  name                  = var.container_name
  storage_account_id    = local.storage_account_id
  container_access_type = "private"

  lifecycle {
    precondition {
      condition     = local.storage_account_id != null
      error_message = "Set storage_account_id, or storage_account_create_enabled = true with storage_account_name, resource_group_name and location."
    }
  }
}

resource "azurerm_role_assignment" "this" {
  count = var.create && var.role_assignment_enabled ? 1 : 0

  scope                = local.container_scope
  role_definition_name = local.role_definition_name
  principal_id         = var.principal_id
  description          = "cloudlease: leases in container ${var.container_name}"

  depends_on = [azurerm_storage_container.this]

  lifecycle {
    precondition {
      condition     = var.principal_id != null
      error_message = "Set principal_id when role_assignment_enabled is true."
    }
  }
}
