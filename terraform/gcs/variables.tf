variable "create" {
  description = "Whether to create the bucket (false: nothing is created and every output is null)."
  type        = bool
  default     = true
}

variable "project" {
  description = "Google Cloud project that owns the bucket."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project))
    error_message = "The project id must be 6-30 lowercase letters, digits and '-', starting with a letter."
  }
}

variable "bucket" {
  description = "Name of the bucket (3-63 lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit, not starting with 'goog')."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", var.bucket)) && !startswith(var.bucket, "goog")
    error_message = "The bucket name must be 3-63 lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit, not starting with 'goog'."
  }
}

variable "location" {
  description = "Location of the bucket (a region such as europe-west1, or a multi-region such as EU); put it where the holders run."
  type        = string
  default     = "EU"
}

variable "prefix" {
  description = "Object-name prefix of the lease objects, ending with '/': '/'-separated segments of letters, digits and . _ = + - (cloudlease refuses anything else)."
  type        = string
  default     = "cloudlease/"

  validation {
    condition     = can(regex("^([A-Za-z0-9][A-Za-z0-9._=+-]*/)+$", var.prefix))
    error_message = "The prefix must be '/'-separated segments of letters, digits and . _ = + -, each starting with a letter or digit, ending with '/' (e.g. leases/prod/)."
  }
}

variable "members" {
  description = "IAM members (e.g. serviceAccount:worker@PROJECT.iam.gserviceaccount.com) granted roles/storage.objectUser on the bucket, limited to the prefix by an IAM condition."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for member in var.members : can(regex("^(serviceAccount|user|group|principal|principalSet):", member))])
    error_message = "Each member must start with serviceAccount:, user:, group:, principal: or principalSet:."
  }
}

variable "lifecycle_enabled" {
  description = "Whether a lifecycle rule deletes lease objects lifecycle_expiration_days after their last write (a held lease is rewritten every ttl/3; tokens stay monotonic across the deletion)."
  type        = bool
  default     = true
}

variable "lifecycle_expiration_days" {
  description = "Days after an object's last write before the lifecycle rule deletes it; far past any lease's expiry plus twice the clock-skew bound."
  type        = number
  default     = 30

  validation {
    condition     = var.lifecycle_expiration_days >= 1 && floor(var.lifecycle_expiration_days) == var.lifecycle_expiration_days
    error_message = "lifecycle_expiration_days must be a whole number of days, at least 1."
  }
}

variable "force_destroy_enabled" {
  description = "Whether terraform destroy deletes the bucket even when it holds objects."
  type        = bool
  default     = false
}

variable "labels" {
  description = "Labels for the bucket (keys and values: lowercase letters, digits, '_' and '-', up to 63 characters; keys start with a letter)."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for key, value in var.labels : can(regex("^[a-z][a-z0-9_-]{0,62}$", key)) && can(regex("^[a-z0-9_-]{0,63}$", value))])
    error_message = "Label keys must be 1-63 lowercase letters, digits, '_' and '-' starting with a letter; values up to 63 of the same characters."
  }
}
