variable "create" {
  description = "Whether to create anything (false: nothing is created and every output is null)."
  type        = bool
  default     = true
}

variable "project" {
  description = "Google Cloud project id that holds the Firestore database."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "The project id must be 6-30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen."
  }
}

variable "database" {
  description = "Firestore database id: \"(default)\" or a named database."
  type        = string
  default     = "(default)"

  validation {
    condition     = var.database == "(default)" || can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.database))
    error_message = "The database id must be \"(default)\" or 4-63 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "collection" {
  description = "Collection that holds one document per lease."
  type        = string
  default     = "cloudlease_leases"

  validation {
    condition     = length(var.collection) <= 1500 && can(regex("^[A-Za-z0-9_.-]+$", var.collection)) && !can(regex("^__.*__$", var.collection)) && !contains([".", ".."], var.collection)
    error_message = "The collection id must be letters, digits, '_', '.' or '-' (no '/'), not '.' or '..' and not __x__."
  }
}

variable "database_create_enabled" {
  description = "Whether to create the database (Firestore native mode). Leave false to use an existing one."
  type        = bool
  default     = false
}

variable "location_id" {
  description = "Location of the database when database_create_enabled (e.g. eur3, nam5, europe-west1)."
  type        = string
  default     = null

  validation {
    condition     = var.location_id == null || can(regex("^[a-z0-9-]+$", coalesce(var.location_id, "-")))
    error_message = "location_id must be a Firestore location such as eur3, nam5 or europe-west1."
  }
}

variable "point_in_time_recovery_enabled" {
  description = "Whether a created database keeps point-in-time recovery (7 days)."
  type        = bool
  default     = true
}

variable "delete_protection_enabled" {
  description = "Whether a created database refuses deletion."
  type        = bool
  default     = true
}

variable "ttl_enabled" {
  description = "Whether to create the TTL policy on the lease documents' cleanup_at field (expires_at + the store's cleanup_after, a week, at least 3 x its skew allowance), so Firestore deletes stale lease records: tokens stay monotonic (docs/tokens.md)."
  type        = bool
  default     = true
}

variable "iam_member_enabled" {
  description = "Whether to grant service_account_email roles/datastore.user (a flag, so the address may be known only after apply)."
  type        = bool
  default     = false
}

variable "service_account_email" {
  description = "Service account that takes leases, for iam_member_enabled."
  type        = string
  default     = null

  validation {
    condition     = var.service_account_email == null || can(regex("^[a-z0-9-]+@[a-z0-9-.]+\\.iam\\.gserviceaccount\\.com$", coalesce(var.service_account_email, "-")))
    error_message = "service_account_email must be a service account address (NAME@PROJECT.iam.gserviceaccount.com)."
  }
}

variable "iam_database_condition_enabled" {
  description = "Whether to limit the role grant to this database with an IAM condition on resource.name (useful with named databases; roles/datastore.user is otherwise project-wide)."
  type        = bool
  default     = false
}
