output "function_app_name" {
  description = "Name of the function app."
  value       = azurerm_linux_function_app.this.name
}

output "store_url" {
  description = "Store URL the function uses (CLOUDLEASE_STORE)."
  value       = module.leases.store_url
}

output "principal_id" {
  description = "Object id of the app's managed identity (granted Storage Blob Data Contributor on the lease container)."
  value       = azurerm_linux_function_app.this.identity[0].principal_id
}
