output "store_url" {
  description = "The cloudlease store URL, e.g. azblob://myaccount/cloudlease (for CLOUDLEASE_STORE or open_store())."
  value       = var.create ? local.store_url : null
}

output "storage_account_id" {
  description = "Resource id of the storage account (created or given)."
  value       = var.create ? local.storage_account_id : null
}

output "storage_account_name" {
  description = "Name of the storage account."
  value       = var.create ? local.account_name : null
}

output "storage_container_name" {
  description = "Name of the lease container."
  value       = try(azurerm_storage_container.this[0].name, null)
}

output "storage_container_scope" {
  description = "ARM resource id of the container (the role assignment's scope)."
  value       = var.create ? local.container_scope : null
}

output "role_definition_name" {
  description = "Role granted to principal_id on the container (null when none was granted)."
  value       = try(azurerm_role_assignment.this[0].role_definition_name, null)
}
