output "store_url" {
  description = "The cloudlease store URL, e.g. firestore://my-project/cloudlease_leases (for CLOUDLEASE_STORE or open_store())."
  value       = var.create ? local.store_url : null
}

output "database" {
  description = "Firestore database id the leases live in."
  value       = var.create ? local.database : null
}

output "collection" {
  description = "Collection of the lease documents."
  value       = var.create ? var.collection : null
}

output "ttl_field" {
  description = "Field the TTL policy deletes lease documents by (null when ttl_enabled is false)."
  value       = var.create && var.ttl_enabled ? local.ttl_field : null
}

output "iam_role" {
  description = "Role granted to service_account_email (null when none was granted)."
  value       = try(google_project_iam_member.this[0].role, null)
}
