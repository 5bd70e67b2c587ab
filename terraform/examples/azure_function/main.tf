# A timer-triggered Python function app whose instances elect one runner through a blob lease
# in the container the azure_blob module creates. The app reaches its own storage and the lease
# container with its managed identity: no keys anywhere.

locals {
  storage_account_name = "${replace(var.name, "-", "")}leases"
}

resource "azurerm_resource_group" "this" {
  name     = var.resource_group_name
  location = var.location
  tags     = var.tags
}

module "leases" {
  source = "../../azure_blob"

  storage_account_create_enabled = true
  storage_account_name           = local.storage_account_name
  resource_group_name            = azurerm_resource_group.this.name
  location                       = azurerm_resource_group.this.location
  container_name                 = "cloudlease"
  role_assignment_enabled        = true
  principal_id                   = azurerm_linux_function_app.this.identity[0].principal_id
  tags                           = var.tags
}

resource "azurerm_service_plan" "this" {
  #checkov:skip=CKV_AZURE_212:A consumption (Y1) plan has no minimum instance count; a missed timer run is caught up by the next tick.
  #checkov:skip=CKV_AZURE_225:Zone redundancy needs a premium plan; the example uses consumption (Y1).
  name                = var.name
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  os_type             = "Linux"
  sku_name            = "Y1"
  tags                = var.tags
}

resource "azurerm_linux_function_app" "this" {
  #checkov:skip=CKV_AZURE_221:A timer-triggered app serves no public traffic worth a private endpoint in an example; add network restrictions for your deployment.
  name                = var.name
  resource_group_name = azurerm_resource_group.this.name
  location            = azurerm_resource_group.this.location
  service_plan_id     = azurerm_service_plan.this.id

  storage_account_name          = module.leases.storage_account_name
  storage_uses_managed_identity = true
  https_only                    = true
  builtin_logging_enabled       = false

  identity {
    type = "SystemAssigned"
  }

  site_config {
    minimum_tls_version = "1.2"
    ftps_state          = "Disabled"
    http2_enabled       = true

    application_stack {
      python_version = "3.12"
    }
  }

  app_settings = {
    CLOUDLEASE_STORE = module.leases.store_url
    CLOUDLEASE_LEASE = var.lease_name
    LEASE_SCHEDULE   = var.schedule
  }

  tags = var.tags
}

# The Functions host keeps its own state (timer schedule status, host locks) in the same
# account, through the managed identity.
resource "azurerm_role_assignment" "host_storage" {
  scope                = module.leases.storage_account_id
  role_definition_name = "Storage Blob Data Owner"
  principal_id         = azurerm_linux_function_app.this.identity[0].principal_id
}
