variable "name" {
  description = "Name of the function app and its plan (storage account: the name without hyphens, + \"leases\")."
  type        = string
  default     = "cloudlease-timer"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,17}$", var.name))
    error_message = "name must be 3-18 lowercase letters, digits or hyphens, starting with a letter (it also names the storage account)."
  }
}

variable "location" {
  description = "Azure region (e.g. westeurope)."
  type        = string
  default     = "westeurope"
}

variable "resource_group_name" {
  description = "Resource group to create for the example."
  type        = string
  default     = "cloudlease-example"
}

variable "schedule" {
  description = "NCRONTAB schedule of the timer trigger (app setting LEASE_SCHEDULE, used as %LEASE_SCHEDULE% by the function)."
  type        = string
  default     = "0 */5 * * * *"

  validation {
    condition     = length(split(" ", var.schedule)) == 6
    error_message = "schedule must be an NCRONTAB expression with six fields (seconds first)."
  }
}

variable "lease_name" {
  description = "Lease the timer's executions compete for (scale-out instances run the timer once each)."
  type        = string
  default     = "scheduled-job"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$", var.lease_name))
    error_message = "lease_name must start with a letter or digit and hold only letters, digits and '._:-' (200 at most)."
  }
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
