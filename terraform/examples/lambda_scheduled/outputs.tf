output "function_name" {
  description = "Name of the scheduled function."
  value       = aws_lambda_function.this.function_name
}

output "store_url" {
  description = "Store URL the function uses (CLOUDLEASE_STORE)."
  value       = module.leases.store_url
}

output "dynamodb_table_name" {
  description = "Name of the lease table."
  value       = module.leases.dynamodb_table_name
}

output "schedule_rule_arn" {
  description = "ARN of the EventBridge rule that ticks the function."
  value       = aws_cloudwatch_event_rule.this.arn
}

output "results_table_name" {
  description = "Name of the table the handler writes its fenced result to (RESULTS_TABLE)."
  value       = aws_dynamodb_table.results.name
}
