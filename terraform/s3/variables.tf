variable "create" {
  description = "Whether to create the bucket (false: nothing is created and every output is null)."
  type        = bool
  default     = true
}

variable "bucket" {
  description = "Name of the bucket (3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket))
    error_message = "The bucket name must be 3-63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit."
  }
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

variable "lifecycle_enabled" {
  description = "Whether a lifecycle rule deletes lease objects lifecycle_expiration_days after their last write (a held lease is rewritten every ttl/3, so only long-idle leases go; tokens stay monotonic across the deletion)."
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

variable "kms_key_arn" {
  description = "ARN of a KMS key for server-side encryption (null: SSE-S3, AES256). Principals then also need kms:Decrypt and kms:GenerateDataKey on it."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:...) or null."
  }
}

variable "force_destroy_enabled" {
  description = "Whether terraform destroy deletes the bucket even when it holds objects (lease objects included)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the bucket."
  type        = map(string)
  default     = {}
}
