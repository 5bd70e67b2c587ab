variable "project" {
  description = "Google Cloud project id."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "The project id must be 6-30 lowercase letters, digits or hyphens, start with a letter and not end with a hyphen."
  }
}

variable "region" {
  description = "Region of the Cloud Run job and the Cloud Scheduler job (e.g. europe-west1)."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a Google Cloud region such as europe-west1."
  }
}

variable "name" {
  description = "Name of the job, its service accounts and its schedule."
  type        = string
  default     = "cloudlease-job"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.name))
    error_message = "name must be 6-30 lowercase letters, digits or hyphens (it also names service accounts)."
  }
}

variable "image" {
  description = "Container image of the job; its command runs under the lease, e.g. `cloudlease run --store $CLOUDLEASE_STORE --lease $CLOUDLEASE_LEASE -- python job.py`."
  type        = string
}

variable "schedule" {
  description = "Cron schedule of the Cloud Scheduler job (unix-cron format)."
  type        = string
  default     = "*/10 * * * *"
}

variable "time_zone" {
  description = "Time zone of the schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "lease_name" {
  description = "Lease the job's executions compete for."
  type        = string
  default     = "scheduled-job"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$", var.lease_name))
    error_message = "lease_name must start with a letter or digit and hold only letters, digits and '._:-' (200 at most)."
  }
}

variable "task_timeout_seconds" {
  description = "Timeout of one task; the Cloud Run adapter caps the lease ttl by it."
  type        = number
  default     = 600

  validation {
    condition     = var.task_timeout_seconds >= 1 && var.task_timeout_seconds <= 86400
    error_message = "task_timeout_seconds must be between 1 and 86400."
  }
}

variable "database_create_enabled" {
  description = "Whether the Firestore module creates the (default) database in native mode."
  type        = bool
  default     = false
}

variable "firestore_location_id" {
  description = "Location of the database when database_create_enabled (e.g. eur3)."
  type        = string
  default     = null
}
