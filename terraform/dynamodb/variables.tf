variable "create" {
  description = "Whether to create the table (false: nothing is created and every output is null)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the lease table (3-255 letters, digits, '_', '.', '-')."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.name))
    error_message = "The table name must be 3-255 characters of letters, digits, '_', '.' and '-'."
  }
}

variable "partition_key" {
  description = "Partition key (type S) holding the lease name. Keep the default unless an existing convention forces another name: a non-default one is carried in store_url."
  type        = string
  default     = "name"

  validation {
    condition     = can(regex("^[!-~]{1,255}$", var.partition_key))
    error_message = "The partition key must be 1-255 printable ASCII characters without spaces."
  }
}

variable "ttl_attribute" {
  description = "Numeric attribute (epoch seconds) that DynamoDB Time to Live deletes stale lease records by. A non-default name is carried in store_url."
  type        = string
  default     = "purge_at"

  validation {
    condition     = can(regex("^[!-~]{1,255}$", var.ttl_attribute))
    error_message = "The TTL attribute must be 1-255 printable ASCII characters without spaces."
  }
}

variable "ttl_enabled" {
  description = "Whether DynamoDB Time to Live deletes lease records a week (the store's purge_after, at least 3 x its skew allowance) after they expired or were released: tokens stay monotonic (docs/tokens.md)."
  type        = bool
  default     = true
}

variable "billing_mode" {
  description = "PAY_PER_REQUEST (default: a lease table sees a few requests per holder per ttl/3) or PROVISIONED."
  type        = string
  default     = "PAY_PER_REQUEST"

  validation {
    condition     = contains(["PAY_PER_REQUEST", "PROVISIONED"], var.billing_mode)
    error_message = "billing_mode must be PAY_PER_REQUEST or PROVISIONED."
  }
}

variable "read_capacity" {
  description = "Read capacity units when billing_mode is PROVISIONED (ignored otherwise)."
  type        = number
  default     = 1

  validation {
    condition     = var.read_capacity >= 1 && floor(var.read_capacity) == var.read_capacity
    error_message = "read_capacity must be a whole number of at least 1."
  }
}

variable "write_capacity" {
  description = "Write capacity units when billing_mode is PROVISIONED (ignored otherwise)."
  type        = number
  default     = 1

  validation {
    condition     = var.write_capacity >= 1 && floor(var.write_capacity) == var.write_capacity
    error_message = "write_capacity must be a whole number of at least 1."
  }
}

variable "point_in_time_recovery_enabled" {
  description = "Whether point-in-time recovery is on for the table."
  type        = bool
  default     = true
}

variable "server_side_encryption_kms_key_arn" {
  description = "ARN of a customer-managed KMS key to encrypt the table with; null uses the AWS-managed key (aws/dynamodb)."
  type        = string
  default     = null

  validation {
    condition     = var.server_side_encryption_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:(key|alias)/.+$", coalesce(var.server_side_encryption_kms_key_arn, "-")))
    error_message = "server_side_encryption_kms_key_arn must be a KMS key or alias ARN (arn:aws:kms:REGION:ACCOUNT:key/ID)."
  }
}

variable "deletion_protection_enabled" {
  description = "Whether the table refuses deletion (turn it off before destroying the module)."
  type        = bool
  default     = true
}

variable "lease_name_prefixes" {
  description = "If not empty, the IAM policy lets its principal read and write only leases whose names start with one of these prefixes (dynamodb:LeadingKeys)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for prefix in var.lease_name_prefixes : can(regex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$", prefix))])
    error_message = "Each lease name prefix must start with a letter or digit and hold only letters, digits and '._:-' (200 at most), like lease names."
  }
}

variable "list_enabled" {
  description = "Whether the IAM policy grants dynamodb:Scan, which `cloudlease status` and store.list() use. Scan cannot be narrowed by lease_name_prefixes: with prefixes set, it still lets the principal read (never write) every lease record."
  type        = bool
  default     = true
}

variable "init_permissions_enabled" {
  description = "Whether the IAM policy also grants what `cloudlease init` needs on this table (CreateTable, DescribeTable, DescribeTimeToLive, UpdateTimeToLive). Not needed when Terraform manages the table."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the table."
  type        = map(string)
  default     = {}
}
