output "s3_bucket_name" {
  description = "Name of the lease bucket."
  value       = try(aws_s3_bucket.this[0].bucket, null)
}

output "s3_bucket_arn" {
  description = "ARN of the lease bucket."
  value       = try(aws_s3_bucket.this[0].arn, null)
}

output "store_url" {
  description = "The cloudlease store URL, e.g. s3://my-bucket/cloudlease/?region=eu-west-1 (for CLOUDLEASE_STORE or open_store())."
  value       = local.store_url
}

output "iam_policy_json" {
  description = "Least-privilege IAM policy document (JSON) for the principals that take leases: object get/put/delete on the prefix, and list limited to the prefix."
  value       = local.iam_policy_json
}

output "iam_actions" {
  description = "The actions iam_policy_json grants, sorted."
  value       = var.create ? sort(distinct(flatten([for statement in local.statements : statement.Action]))) : []
}
