output "dynamodb_table_name" {
  description = "Name of the lease table."
  value       = try(aws_dynamodb_table.this[0].name, null)
}

output "dynamodb_table_arn" {
  description = "ARN of the lease table."
  value       = local.table_arn
}

output "store_url" {
  description = "The cloudlease store URL of the table, e.g. dynamodb://leases?region=eu-west-1 (for CLOUDLEASE_STORE or open_store())."
  value       = local.store_url
}

output "iam_policy_json" {
  description = "Least-privilege IAM policy document (JSON) for the principals that take leases: only the actions cloudlease-dynamodb calls, on this table, optionally restricted to lease_name_prefixes."
  value       = local.iam_policy_json
}

output "iam_actions" {
  description = "The actions iam_policy_json grants, sorted."
  value       = var.create ? sort(distinct(flatten([for statement in local.statements : statement.Action]))) : []
}
