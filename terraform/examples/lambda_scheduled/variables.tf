variable "name" {
  description = "Name of the function, its role, schedule and lease table (table: NAME-leases)."
  type        = string
  default     = "cloudlease-scheduled"

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,50}$", var.name))
    error_message = "name must be 1-50 letters, digits, '_' or '-'."
  }
}

variable "lambda_zip_path" {
  description = "Deployment package (zip) with examples/lambda_scheduled/handler.py, cloudlease and cloudlease-dynamodb, e.g. built from the repository root by `pip install --target build . ./providers/dynamodb && cp examples/lambda_scheduled/handler.py build/ && (cd build && zip -r ../lambda.zip .)`."
  type        = string

  validation {
    condition     = endswith(var.lambda_zip_path, ".zip")
    error_message = "lambda_zip_path must point to a .zip file."
  }
}

variable "schedule_expression" {
  description = "When EventBridge invokes the function: rate(...) or cron(...)."
  type        = string
  default     = "rate(5 minutes)"

  validation {
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.schedule_expression))
    error_message = "schedule_expression must be rate(...) or cron(...)."
  }
}

variable "lease_name" {
  description = "Lease the scheduled runs compete for (one winner per tick)."
  type        = string
  default     = "scheduled-job"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$", var.lease_name))
    error_message = "lease_name must start with a letter or digit and hold only letters, digits and '._:-' (200 at most)."
  }
}

variable "timeout_seconds" {
  description = "Function timeout; the Lambda adapter caps the lease ttl by the remaining time."
  type        = number
  default     = 60

  validation {
    condition     = var.timeout_seconds >= 3 && var.timeout_seconds <= 900
    error_message = "timeout_seconds must be between 3 and 900."
  }
}

variable "log_retention_days" {
  description = "Retention of the function's CloudWatch log group."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, ... 3653)."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the function's environment, its logs and the table; null uses AWS-managed keys."
  type        = string
  default     = null
}

variable "deletion_protection_enabled" {
  description = "Whether the lease table refuses deletion."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
