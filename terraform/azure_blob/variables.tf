variable "create" {
  description = "Whether to create anything (false: nothing is created and every output is null)."
  type        = bool
  default     = true
}

variable "storage_account_create_enabled" {
  description = "Whether to create the storage account (TLS 1.2+, HTTPS only, no public blob access). false: use the existing account storage_account_id."
  type        = bool
  default     = false
}

variable "storage_account_name" {
  description = "Name of the storage account to create (3-24 lowercase letters and digits); ignored when storage_account_id names an existing one."
  type        = string
  default     = null

  validation {
    condition     = var.storage_account_name == null || can(regex("^[a-z0-9]{3,24}$", coalesce(var.storage_account_name, "-")))
    error_message = "storage_account_name must be 3-24 lowercase letters and digits."
  }
}

variable "storage_account_id" {
  description = "Resource id of an existing storage account (when storage_account_create_enabled is false)."
  type        = string
  default     = null

  validation {
    condition     = var.storage_account_id == null || can(regex("(?i)^/subscriptions/[^/]+/resourceGroups/[^/]+/providers/Microsoft\\.Storage/storageAccounts/[a-z0-9]{3,24}$", coalesce(var.storage_account_id, "-")))
    error_message = "storage_account_id must look like /subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Storage/storageAccounts/NAME."
  }
}

variable "resource_group_name" {
  description = "Resource group of the storage account to create."
  type        = string
  default     = null
}

variable "location" {
  description = "Azure region of the storage account to create (e.g. westeurope)."
  type        = string
  default     = null
}

variable "account_replication_type" {
  description = "Replication of the storage account to create."
  type        = string
  default     = "ZRS"

  validation {
    condition     = contains(["LRS", "ZRS", "GRS", "RAGRS", "GZRS", "RAGZRS"], var.account_replication_type)
    error_message = "account_replication_type must be one of LRS, ZRS, GRS, RAGRS, GZRS, RAGZRS."
  }
}

variable "shared_access_key_enabled" {
  description = "Whether the created account accepts shared keys. cloudlease uses Microsoft Entra ID (DefaultAzureCredential), so keys stay off unless something else needs them; the azurerm provider then needs storage_use_azuread = true."
  type        = bool
  default     = false
}

variable "blob_soft_delete_retention_days" {
  description = "Days deleted blobs and containers of the created account stay recoverable."
  type        = number
  default     = 7

  validation {
    condition     = var.blob_soft_delete_retention_days >= 1 && var.blob_soft_delete_retention_days <= 365 && floor(var.blob_soft_delete_retention_days) == var.blob_soft_delete_retention_days
    error_message = "blob_soft_delete_retention_days must be a whole number from 1 to 365."
  }
}

variable "container_name" {
  description = "Container that holds one blob per lease (3-63 lowercase letters, digits and single hyphens)."
  type        = string
  default     = "cloudlease"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.container_name)) && !strcontains(var.container_name, "--")
    error_message = "container_name must be 3-63 lowercase letters, digits and single hyphens, starting and ending with a letter or digit."
  }
}

variable "prefix" {
  description = "Prefix of the lease blobs in the container (the store's default is cloudlease/)."
  type        = string
  default     = "cloudlease/"

  validation {
    condition     = can(regex("^[A-Za-z0-9._:/-]{0,200}$", var.prefix))
    error_message = "prefix may hold letters, digits and '._:/-' (200 at most)."
  }
}

variable "role_assignment_enabled" {
  description = "Whether to grant principal_id Storage Blob Data Contributor on the container (a flag, so principal_id may be known only after apply)."
  type        = bool
  default     = false
}

variable "principal_id" {
  description = "Object id of the identity that takes leases (e.g. a managed identity), for role_assignment_enabled."
  type        = string
  default     = null

  validation {
    condition     = var.principal_id == null || can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", coalesce(var.principal_id, "-")))
    error_message = "principal_id must be an object id (a GUID)."
  }
}

variable "tags" {
  description = "Tags for the created storage account."
  type        = map(string)
  default     = {}
}
