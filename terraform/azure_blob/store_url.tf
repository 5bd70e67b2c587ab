# The store URL from variables alone, in its own file so tests can evaluate it without the
# azurerm provider. Format: cloudlease_azure_blob's from_url.
locals {
  account_name = var.storage_account_create_enabled ? var.storage_account_name : try(reverse(split("/", var.storage_account_id))[0], null)
  store_url    = "azblob://${coalesce(local.account_name, "-")}/${var.container_name}${var.prefix == "cloudlease/" ? "" : "?prefix=${var.prefix}"}"
}
